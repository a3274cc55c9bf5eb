package toolcall

import (
	"strings"

	"github.com/tetherllm/tether/llm"
)

// RenderHistory writes a history in the text protocol for a model or
// template without native tool support: an assistant turn's calls become
// <tool_call> blocks after its text, results become <tool_result> blocks
// in user messages, and messages of one role in a row are joined by a
// blank line, as templates that insist on alternating roles require. A
// joined assistant message keeps the first reasoning of its run.
func RenderHistory(history []llm.Message) []llm.Message {
	out := make([]llm.Message, 0, len(history))
	for _, m := range history {
		role, text := m.Role, m.Content
		switch {
		case m.Role == llm.RoleTool && m.ToolResult != nil:
			role, text = llm.RoleUser, RenderResult(*m.ToolResult)
		case m.Role == llm.RoleAssistant:
			for _, call := range m.ToolCalls {
				text = JoinText(text, RenderCall(call))
			}
		}
		if n := len(out); n > 0 && out[n-1].Role == role && role != llm.RoleSystem {
			out[n-1].Content = JoinText(out[n-1].Content, text)
			if out[n-1].Reasoning == "" && role == llm.RoleAssistant {
				out[n-1].Reasoning = m.Reasoning
			}
			continue
		}
		msg := llm.Message{Role: role, Content: text}
		if role == llm.RoleAssistant {
			msg.Reasoning = m.Reasoning
		}
		out = append(out, msg)
	}
	return out
}

// JoinText joins two pieces of a message with one blank line between
// them; an empty piece adds nothing.
func JoinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return strings.TrimRight(a, "\n") + "\n\n" + b
}
