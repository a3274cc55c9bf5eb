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
	chat.FamilyQwen3:  ollamaQwen3,
	chat.FamilyLlama3: ollamaLlama3,
}

// ollamaQwen25 is Qwen2.5's template in ollama's Go template language:
// ChatML with Qwen2.5's default system prompt, Hermes tool calls, and
// tool results grouped in one user turn. ollama finds the call syntax
// from the first text in the {{ if .ToolCalls }} block, which must come
// before any other condition there.
const ollamaQwen25 = `{{- if .Tools }}<|im_start|>system
{{ if .System }}{{ .System }}{{ else }}You are Qwen, created by Alibaba Cloud. You are a helpful assistant.{{ end }}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{{ json . }}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{{ else }}<|im_start|>system
{{ if .System }}{{ .System }}{{ else }}You are Qwen, created by Alibaba Cloud. You are a helpful assistant.{{ end }}<|im_end|>
{{ end }}
{{- $prev := "" }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if and (eq $prev "tool") (ne .Role "tool") }}<|im_end|>
{{ end }}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}{{ $m := . }}<|im_start|>assistant
{{ .Content }}
{{- if $m.Content }}{{ if $m.ToolCalls }}
{{ end }}{{ end }}
{{- if .ToolCalls }}{{ range $j, $c := .ToolCalls }}<tool_call>
{"name": "{{ $c.Function.Name }}", "arguments": {{ $c.Function.Arguments }}}
</tool_call>{{ if ne (len (slice $m.ToolCalls $j)) 1 }}
{{ end }}{{ end }}{{ end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}{{ if ne $prev "tool" }}<|im_start|>user{{ end }}
<tool_response>
{{ .Content }}
</tool_response>
{{- end }}
{{- if and (ne .Role "assistant") $last }}{{ if eq .Role "tool" }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}
{{- $prev = .Role }}
{{- end }}`

// ollamaQwen3 is Qwen3's template in ollama's Go template language:
// ChatML with Hermes tool calls, tool results grouped in one user turn,
// the reasoning of the assistant turns after the last user message kept
// in <think> blocks, and the empty <think> block that switches thinking
// off when the request does. ollama finds the <think> tags around
// .Thinking, so it lists the model as thinking and returns the reasoning
// apart (the OpenAI routes' "reasoning"), and the call syntax from the
// first text in the {{ if .ToolCalls }} block, which must come before any
// other condition there.
const ollamaQwen3 = `{{- if .Tools }}<|im_start|>system
{{ if .System }}{{ .System }}

{{ end }}# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{{- range .Tools }}
{{ json . }}
{{- end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{{ else if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- $lastQuery := -1 }}
{{- range $i, $m := .Messages }}{{ if eq $m.Role "user" }}{{ $lastQuery = $i }}{{ end }}{{ end }}
{{- $prev := "" }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if and (eq $prev "tool") (ne .Role "tool") }}<|im_end|>
{{ end }}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}{{ $m := . }}<|im_start|>assistant
{{ if and (gt $i $lastQuery) .Thinking }}<think>
{{ .Thinking }}
</think>

{{ end }}{{ .Content }}
{{- if $m.Content }}{{ if $m.ToolCalls }}
{{ end }}{{ end }}
{{- if .ToolCalls }}{{ range $j, $c := .ToolCalls }}<tool_call>
{"name": "{{ $c.Function.Name }}", "arguments": {{ $c.Function.Arguments }}}
</tool_call>{{ if ne (len (slice $m.ToolCalls $j)) 1 }}
{{ end }}{{ end }}{{ end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}{{ if ne $prev "tool" }}<|im_start|>user{{ end }}
<tool_response>
{{ .Content }}
</tool_response>
{{- end }}
{{- if and (ne .Role "assistant") $last }}{{ if eq .Role "tool" }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ if and $.IsThinkSet (not $.Think) }}<think>

</think>

{{ end }}
{{- end }}
{{- $prev = .Role }}
{{- end }}`

// ollamaLlama3 is Llama 3.2's template in ollama's Go template language:
// the system header with the knowledge cut-off and today's date, the tools
// as JSON in the first user message, calls as bare {"name", "parameters"}
// objects, results in ipython turns as JSON strings (the original's
// "is iterable" test holds for a string, so it writes every result
// through tojson). It differs from the Jinja original
// where ollama's template functions fall short: the date is ollama's
// currentDate (2024-07-26 rather than 26 Jul 2024), the tools are compact
// JSON rather than indented, message text is not trimmed, and several
// calls in one turn (which Llama 3.2 does not make) are written one after
// the other rather than refused.
// The beginning-of-text token is the tokenizer's to add, as in ollama's
// own Llama templates. The {{ if .ToolCalls }} block opens with the call
// object, so ollama reads JSON objects in the answer as calls.
const ollamaLlama3 = `<|start_header_id|>system<|end_header_id|>

{{ if .Tools }}Environment: ipython
{{ end }}Cutting Knowledge Date: December 2023
Today Date: {{ currentDate }}

{{ .System }}<|eot_id|>
{{- $first := -1 }}
{{- range $i, $m := .Messages }}{{ if and (eq $first -1) (ne $m.Role "system") }}{{ $first = $i }}{{ end }}{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "system" }}
{{- else if and $.Tools (eq $i $first) }}<|start_header_id|>user<|end_header_id|>

Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.

Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.

{{ range $.Tools }}{{ json . }}

{{ end }}{{ .Content }}<|eot_id|>
{{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "parameters": {{ .Function.Arguments }}}{{ end }}
{{- else }}{{ .Content }}{{ end }}{{ if not $last }}<|eot_id|>{{ end }}
{{- else if eq .Role "tool" }}<|start_header_id|>ipython<|end_header_id|>

{{ json .Content }}<|eot_id|>
{{- else }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}
{{- if and (ne .Role "assistant") $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- end }}`

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
