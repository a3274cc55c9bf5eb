package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// RenderCall writes an assistant's tool call as the seed does:
// "<tool_call>\n" + {"name":…,"input":…} as compact JSON, name first +
// "\n</tool_call>". Missing input is written as {}.
func RenderCall(call llm.ToolCall) string {
	var b strings.Builder
	b.WriteString(callOpen + "\n{\"name\":")
	b.WriteString(jsonString(call.Name))
	b.WriteString(`,"input":`)
	var input bytes.Buffer
	if err := json.Compact(&input, call.Input); err != nil || input.Len() == 0 {
		input.Reset()
		input.WriteString("{}")
	}
	b.Write(input.Bytes())
	b.WriteString("}\n" + callClose)
	return b.String()
}

// RenderResult writes a tool's result for the model:
//
//	<tool_result name="glob">
//	main.go
//	</tool_result>
//
// The name attribute is there when the result has a name, and error="true"
// when the tool failed; with neither, the opening tag is the seed's bare
// <tool_result>. Attributes on the tag keep the content untouched and are
// easy for small models to read.
//
// Tool output is data, not conversation: tags in it that could end the
// block or forge a turn (<tool_call>, </tool_call>, <tool_result>,
// </tool_result>, in any case, and chat-template tokens such as
// <|im_end|>) are neutralised by writing their "<" as "&lt;". Nothing
// else in the content changes.
func RenderResult(res llm.ToolResult) string {
	var b strings.Builder
	b.WriteString("<tool_result")
	if res.Name != "" {
		b.WriteString(` name="`)
		b.WriteString(attrEscaper.Replace(res.Name))
		b.WriteByte('"')
	}
	if res.IsError {
		b.WriteString(` error="true"`)
	}
	b.WriteString(">\n")
	b.WriteString(Neutralise(res.Content))
	b.WriteString("\n</tool_result>")
	return b.String()
}

var attrEscaper = strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;", "\n", " ")

// Neutralise rewrites the "<" of every tag in s that could end a
// <tool_result> block or forge a turn as "&lt;": the tool-call and
// tool-result tags (any case, with or without attributes) and
// chat-template special tokens of the form <|name|>.
func Neutralise(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '<' && forgeable(s[i+1:]) {
			if b.Len() == 0 {
				b.Grow(len(s) + 16)
			}
			b.WriteString(s[last:i])
			b.WriteString("&lt;")
			last = i + 1
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// forgeable reports whether rest, the text after a "<", makes a tag that
// Neutralise must break.
func forgeable(rest string) bool {
	if strings.HasPrefix(rest, "|") {
		end := strings.Index(rest[1:], "|>")
		if end < 0 {
			return false
		}
		for _, c := range []byte(rest[1 : 1+end]) {
			if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	rest = strings.TrimPrefix(rest, "/")
	for _, name := range []string{"tool_call", "tool_result"} {
		if len(rest) >= len(name) && strings.EqualFold(rest[:len(name)], name) {
			after := rest[len(name):]
			if after == "" || after[0] == '>' || after[0] == ' ' || after[0] == '\t' || after[0] == '\n' || after[0] == '/' {
				return true
			}
		}
	}
	return false
}

// jsonString writes s as a JSON string without HTML escaping, as serde_json
// does.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
