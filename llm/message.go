package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Role says who a [Message] is from.
type Role string

// The roles of a conversation. RoleTool carries a [ToolResult].
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// ToolCall is one call of a tool that the assistant asked for.
type ToolCall struct {
	// ID is unique for the lifetime of the driver that produced it.
	ID string `json:"id"`
	// Name is the tool's name, as in its [ToolDef].
	Name string `json:"name"`
	// Input is the call's arguments: a JSON value, normally an object.
	Input json.RawMessage `json:"input"`
}

// ToolResult is the outcome of one [ToolCall], sent back to the model.
type ToolResult struct {
	// ToolUseID is the [ToolCall.ID] this result answers.
	ToolUseID string `json:"tool_use_id"`
	// Name is the tool's name. It is optional, but text protocols render
	// it so that small models see which call a result belongs to.
	Name    string `json:"name,omitempty"`
	Content string `json:"content"`
	IsError bool   `json:"is_error"`
}

// ToolDef describes a tool the model may call.
type ToolDef struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// InputSchema is a JSON Schema object for the tool's input.
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	// Strict asks, as OpenAI's strict function calling does, that every
	// call's input has exactly the properties the schema declares. A
	// driver that controls sampling enforces it when it forces a call.
	Strict bool `json:"strict,omitempty"`
}

// Message is one element of a conversation, according to Role:
//
//   - system and user messages carry Content;
//   - an assistant message is one whole turn of the model: its Content,
//     its Reasoning, and any number of ToolCalls, in that order — as the
//     chat templates of tool-calling models render a turn;
//   - a tool message carries one ToolResult. The results of one turn's
//     calls are tool messages in a row, which drivers send together.
//
// Use the constructors ([SystemMessage], [UserMessage],
// [AssistantMessage], [ToolUseMessage], [ToolResultMessage],
// [Response.Message]) rather than filling the struct by hand.
//
// The JSON form is {"role", "content", "reasoning", "tool_calls",
// "tool_result"}. Reading also accepts an older form with one
// "tool_call" object and the seed's externally tagged variants
// ({"User": "..."}, {"AssistantToolUse": {...}}, {"ToolResult": {...}}).
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content,omitempty"`
	// Reasoning is an assistant message's thinking, kept apart from
	// Content (OpenAI's reasoning_content); chat templates of thinking
	// models render or drop it.
	Reasoning  string      `json:"reasoning,omitempty"`
	ToolCalls  []ToolCall  `json:"tool_calls,omitempty"`
	ToolResult *ToolResult `json:"tool_result,omitempty"`
}

// SystemMessage returns a system message.
func SystemMessage(text string) Message { return Message{Role: RoleSystem, Content: text} }

// UserMessage returns a user message.
func UserMessage(text string) Message { return Message{Role: RoleUser, Content: text} }

// AssistantMessage returns an assistant message with prose.
func AssistantMessage(text string) Message { return Message{Role: RoleAssistant, Content: text} }

// ToolUseMessage returns an assistant message that calls tools and says
// nothing else.
func ToolUseMessage(calls ...ToolCall) Message {
	return Message{Role: RoleAssistant, ToolCalls: slices.Clone(calls)}
}

// ToolResultMessage returns a tool message that answers a tool call.
func ToolResultMessage(result ToolResult) Message {
	return Message{Role: RoleTool, ToolResult: &result}
}

// Validate reports whether m is well formed for its role.
func (m Message) Validate() error {
	switch m.Role {
	case RoleSystem, RoleUser:
		if len(m.ToolCalls) > 0 || m.ToolResult != nil {
			return fmt.Errorf("llm: %s message cannot carry a tool call or result", m.Role)
		}
		if m.Reasoning != "" {
			return fmt.Errorf("llm: %s message cannot carry reasoning", m.Role)
		}
	case RoleAssistant:
		if m.ToolResult != nil {
			return errors.New("llm: assistant message cannot carry a tool result")
		}
		for _, c := range m.ToolCalls {
			if c.Name == "" {
				return errors.New("llm: assistant tool call has no name")
			}
			if len(c.Input) > 0 && !json.Valid(c.Input) {
				return fmt.Errorf("llm: tool call %q: input is not valid JSON", c.Name)
			}
		}
	case RoleTool:
		if m.ToolResult == nil {
			return errors.New("llm: tool message has no tool_result")
		}
		if len(m.ToolCalls) > 0 {
			return errors.New("llm: tool message cannot carry a tool call")
		}
		if m.Reasoning != "" {
			return errors.New("llm: tool message cannot carry reasoning")
		}
	case "":
		return errors.New("llm: message has no role")
	default:
		return fmt.Errorf("llm: unknown message role %q", m.Role)
	}
	return nil
}

// UnmarshalJSON reads tether's form and the seed's externally tagged form.
func (m *Message) UnmarshalJSON(data []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("llm: message: %w", err)
	}
	if _, ok := probe["role"]; ok {
		type plain Message // no methods: avoids recursion
		var p struct {
			plain
			// ToolCall is the older form's single call.
			ToolCall *ToolCall `json:"tool_call,omitempty"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("llm: message: %w", err)
		}
		*m = Message(p.plain)
		if p.ToolCall != nil {
			if len(m.ToolCalls) > 0 {
				return errors.New(`llm: message: both "tool_call" and "tool_calls"`)
			}
			m.ToolCalls = []ToolCall{*p.ToolCall}
		}
		for i := range m.ToolCalls {
			if len(m.ToolCalls[i].Input) == 0 {
				m.ToolCalls[i].Input = json.RawMessage("{}")
			}
		}
		return m.Validate()
	}
	if len(probe) != 1 {
		return errors.New(`llm: message: want an object with "role" or one seed variant key`)
	}
	for variant, raw := range probe {
		return m.fromSeed(variant, raw)
	}
	return nil
}

// fromSeed decodes one variant of the seed's externally tagged message enum.
func (m *Message) fromSeed(variant string, raw json.RawMessage) error {
	text := func() (string, error) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("llm: message %s: %w", variant, err)
		}
		return s, nil
	}
	switch variant {
	case "System", "User", "Assistant":
		s, err := text()
		if err != nil {
			return err
		}
		*m = Message{Role: map[string]Role{"System": RoleSystem, "User": RoleUser, "Assistant": RoleAssistant}[variant], Content: s}
	case "AssistantToolUse":
		var call ToolCall
		if err := json.Unmarshal(raw, &call); err != nil {
			return fmt.Errorf("llm: message AssistantToolUse: %w", err)
		}
		if len(call.Input) == 0 {
			call.Input = json.RawMessage("{}")
		}
		*m = ToolUseMessage(call)
	case "ToolResult":
		var res ToolResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return fmt.Errorf("llm: message ToolResult: %w", err)
		}
		*m = ToolResultMessage(res)
	default:
		return fmt.Errorf("llm: unknown message variant %q", variant)
	}
	return m.Validate()
}

// MarshalJSON writes tether's form, after checking the message.
func (m Message) MarshalJSON() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	type plain Message
	return json.Marshal(plain(m))
}
