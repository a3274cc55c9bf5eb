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
