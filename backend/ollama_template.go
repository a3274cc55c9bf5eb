package backend

import (
	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/gguf"
)

// ollama cannot run a GGUF's Jinja chat template. Registered without a
// Modelfile TEMPLATE, it compares the file's template with the Jinja
// texts of its built-in Go templates and takes the closest one if it is
// within an edit distance of 100; otherwise it falls back to the bare
// "{{ .Prompt }}", which drops the roles, the system prompt and every
// message but the last user turns, and which takes no tools. Of its
// built-in templates only command-r's takes tools.
//
// For the template families tether knows and can say in ollama's Go
// template language, ollamaTemplates holds the equivalent: the GGUF's own
// format, turn markers, tool descriptions and tool-call syntax, written as
// ollama's templates write them, so that ollama renders the model's real
// prompt and parses its tool calls (it finds the call syntax from the
// template's .ToolCalls block).
var ollamaTemplates = map[string]string{
	chat.FamilyQwen25: ollamaQwen25,
}

// ollamaQwen25 is Qwen2.5's template (ChatML with Hermes tool calls) in
// ollama's Go template language, with Qwen2.5's default system prompt.
const ollamaQwen25 = `{{- if .Messages }}
{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- else }}
You are Qwen, created by Alibaba Cloud. You are a helpful assistant.
{{- end }}
{{- if .Tools }}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{{- end }}<|im_end|>
{{ else }}<|im_start|>system
You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Content }}{{ .Content }}
{{- else if .ToolCalls }}<tool_call>
{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
{{ end }}</tool_call>
{{- end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}`

// ollamaTemplateFor returns the Go template equivalent to the chat
// template of the GGUF file at path, if tether has one for its family.
func ollamaTemplateFor(path string) (family, tmpl string, ok bool) {
	f, err := gguf.Open(path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	text, err := gguf.GetOr(f, "tokenizer.chat_template", "")
	if err != nil || text == "" {
		return "", "", false
	}
	family = chat.Detect(text)
	tmpl, ok = ollamaTemplates[family]
	return family, tmpl, ok
}
