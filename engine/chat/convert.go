package chat

import (
	"fmt"

	"github.com/tetherllm/tether/llm"
)

// message is one message in the shape chat templates are written for (HF
// transformers' / OpenAI's): an assistant turn carries all of its tool
// calls, and tool results are messages of role "tool".
type message struct {
	role    string
	content string
	// contentNull: the message has no text (an assistant turn that only
	// calls tools); templates see content as none or "", see jinjaShape.
	contentNull bool
	reasoning   string
	// hasReasoning: reasoning was given (it may be empty).
	hasReasoning bool
	calls        []call
	toolCallID   string
	name         string
}

type call struct {
	id   string
	name string
	args *jsonValue
}

// tool is one tool definition in OpenAI's shape,
// {"type": "function", "function": {"name", "description", "parameters"}}.
type tool struct {
	name  string
	value *jsonValue
}

// messages turns a conversation into template messages. The system prompt
// becomes a leading system message. Assistant turns with calls go through
// [appendCalls]: merged with the assistant turn before them when merge is
// set, one call a turn when it is not (Llama 3's template allows one call
// a turn).
func messages(conv Conversation, merge bool) ([]message, error) {
	out := make([]message, 0, len(conv.Messages)+1)
	if conv.System != "" {
		out = append(out, message{role: string(llm.RoleSystem), content: conv.System})
	}
	for i, m := range conv.Messages {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("chat: messages[%d]: %w", i, err)
		}
		switch {
		case m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0:
			calls := make([]call, len(m.ToolCalls))
			for j := range m.ToolCalls {
				c, err := toCall(&m.ToolCalls[j])
				if err != nil {
					return nil, fmt.Errorf("chat: messages[%d]: %w", i, err)
				}
				calls[j] = c
			}
			out = appendCalls(out, m, calls, merge)
		case m.Role == llm.RoleTool:
			r := m.ToolResult
			out = append(out, message{role: string(llm.RoleTool), content: r.Content, toolCallID: r.ToolUseID, name: r.Name})
		default:
			out = append(out, message{
				role:         string(m.Role),
				content:      m.Content,
				reasoning:    m.Reasoning,
				hasReasoning: m.Reasoning != "",
			})
		}
	}
	return out, nil
}

// appendCalls adds an assistant turn with tool calls. With merge, calls
// without text join the assistant turn before them, so a history stored
// one call per message renders as the turn the model produced; without
// merge, the text and each call are turns of their own.
func appendCalls(out []message, m llm.Message, calls []call, merge bool) []message {
	reasoning := m.Reasoning
	if merge {
		if n := len(out); n > 0 && m.Content == "" && out[n-1].role == string(llm.RoleAssistant) {
			last := &out[n-1]
			last.calls = append(last.calls, calls...)
			if !last.hasReasoning && reasoning != "" {
				last.reasoning, last.hasReasoning = reasoning, true
			}
			return out
		}
		return append(out, message{
			role: string(llm.RoleAssistant), content: m.Content, contentNull: m.Content == "",
			calls: calls, reasoning: reasoning, hasReasoning: reasoning != "",
		})
	}
	if m.Content != "" {
		out = append(out, message{role: string(llm.RoleAssistant), content: m.Content, reasoning: reasoning, hasReasoning: reasoning != ""})
		reasoning = ""
	}
	for _, c := range calls {
		out = append(out, message{
			role: string(llm.RoleAssistant), contentNull: true,
			calls: []call{c}, reasoning: reasoning, hasReasoning: reasoning != "",
		})
		reasoning = ""
	}
	return out
}

func toCall(tc *llm.ToolCall) (call, error) {
	args := newObject()
	if len(tc.Input) > 0 {
		v, err := parseJSON(tc.Input)
		if err != nil {
			return call{}, fmt.Errorf("tool call %q: input: %w", tc.Name, err)
		}
		args = v
	}
	return call{id: tc.ID, name: tc.Name, args: args}, nil
}

// tools turns tool definitions into OpenAI-shaped tool objects, keeping
// their order, so the prompt is the same from one run to the next.
func tools(defs []llm.ToolDef) ([]tool, error) {
	out := make([]tool, 0, len(defs))
	for i, d := range defs {
		if d.Name == "" {
			return nil, fmt.Errorf("chat: tools[%d]: tool has no name", i)
		}
		fn := newObject()
		fn.set("name", jsonStr(d.Name))
		if d.Description != "" {
			fn.set("description", jsonStr(d.Description))
		}
		if len(d.InputSchema) > 0 {
			schema, err := parseJSON(d.InputSchema)
			if err != nil {
				return nil, fmt.Errorf("chat: tool %q: input schema: %w", d.Name, err)
			}
			fn.set("parameters", schema)
		}
		t := newObject()
		t.set("type", jsonStr("function"))
		t.set("function", fn)
		out = append(out, tool{name: d.Name, value: t})
	}
	return out, nil
}

// hasToolMessages reports whether a conversation uses tools at all.
func hasToolMessages(conv Conversation) bool {
	if len(conv.Tools) > 0 {
		return true
	}
	for _, m := range conv.Messages {
		if len(m.ToolCalls) > 0 || m.ToolResult != nil || m.Role == llm.RoleTool {
			return true
		}
	}
	return false
}

// prepare converts a conversation for a hand-written renderer of family:
// its messages (merge joins an assistant turn's tool calls, as templates
// that render several calls a turn need) and tools; a conversation with
// no messages is an error.
func prepare(conv Conversation, merge bool, family string) ([]message, []tool, error) {
	msgs, err := messages(conv, merge)
	if err != nil {
		return nil, nil, err
	}
	defs, err := tools(conv.Tools)
	if err != nil {
		return nil, nil, err
	}
	if len(msgs) == 0 {
		return nil, nil, noMessages(family)
	}
	return msgs, defs, nil
}
