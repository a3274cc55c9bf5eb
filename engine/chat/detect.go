package chat

import (
	"regexp"
	"strings"
)

// fingerprint names a family by substrings of its official template: all
// of need must appear and none of avoid. The needs are the lines that
// decide what the template prints, so a template that has them all prints
// what the hand-written renderer prints; Parse then checks that on probe
// conversations before trusting it.
type fingerprint struct {
	family string
	need   []string
	avoid  []string
}

// Substrings are written as they appear in the template source, where a
// Jinja string literal spells a newline as a backslash and an n.
var fingerprints = []fingerprint{
	{
		family: FamilyQwen3,
		need: []string{
			"<|im_start|>", "<|im_end|>",
			`# Tools\n\nYou may call one or more functions to assist with the user query.`,
			"<tool_response>", `'<tool_call>\n{"name": "'`, "tool_call.arguments is string",
			"multi_step_tool", "last_query_index", "reasoning_content",
			"enable_thinking is defined and enable_thinking is false",
			`'<think>\n\n</think>\n\n'`,
		},
		avoid: []string{"<function=", "vision", "image", "preserve_thinking", "reasoning_effort"},
	},
	{
		family: FamilyQwen25,
		need: []string{
			"<|im_start|>", "<|im_end|>",
			"You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
			`\n\n# Tools\n\nYou may call one or more functions to assist with the user query.`,
			"<tool_response>", `'\n<tool_call>\n{"name": "'`, "tool_call.arguments | tojson",
		},
		avoid: []string{"<think>", "reasoning_content", "<function=", "vision", "image"},
	},
	{
		family: FamilyLlama3,
		need: []string{
			"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
			"Cutting Knowledge Date: December 2023", "Today Date: ",
			"tools_in_user_message", "Environment: ipython",
			`"parameters": `, "<|start_header_id|>ipython<|end_header_id|>",
			"This model only supports single tool-calls at once!",
		},
		avoid: []string{"<|image|>", "image", "<think>"},
	},
}

// chatMLForms are the generic ChatML templates seen in the wild, in the
// normal form of normalizeTemplate.
var chatMLForms = func() map[string]bool {
	forms := map[string]bool{}
	for _, t := range []string{
		`{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`,
		`{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`,
	} {
		forms[normalizeTemplate(t)] = true
	}
	return forms
}()

var (
	trimMarkers   = strings.NewReplacer("{%-", "{%", "-%}", "%}", "{{-", "{{", "-}}", "}}", `"`, `'`)
	templateSpace = regexp.MustCompile(`\s+`)
	templateItem  = regexp.MustCompile(`message\.(role|content)\b`)
)

// normalizeTemplate removes what does not change a generic ChatML
// template's output: whitespace, trim markers, quote style and
// message.x versus message['x'].
func normalizeTemplate(t string) string {
	t = templateSpace.ReplaceAllString(t, "")
	t = trimMarkers.Replace(t)
	return templateItem.ReplaceAllString(t, "message['$1']")
}

// Detect names the family of a chat template from its content: one of the
// Family constants. An empty template is ChatML; a template that matches
// no hand-written family is FamilyJinja.
func Detect(templateText string) string {
	if isBlank(templateText) {
		return FamilyChatML
	}
	for _, fp := range fingerprints {
		if matches(templateText, fp) {
			return fp.family
		}
	}
	if chatMLForms[normalizeTemplate(templateText)] {
		return FamilyChatML
	}
	return FamilyJinja
}

func matches(text string, fp fingerprint) bool {
	for _, s := range fp.need {
		if !strings.Contains(text, s) {
			return false
		}
	}
	for _, s := range fp.avoid {
		if strings.Contains(text, s) {
			return false
		}
	}
	return true
}
