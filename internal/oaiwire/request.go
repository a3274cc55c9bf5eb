package oaiwire

import "encoding/json"

// The request side: the conversation's messages and tools, which the
// client encodes and tether serve decodes. (The request's other fields
// are each side's own: the client sends a few, the server reads every
// field of its tables.)

// RequestMessage is one message of a chat request.
type RequestMessage struct {
	Role string `json:"role"`
	// Content is a string, null (an assistant message that only calls
	// tools), or an array of content parts; kept raw so that the server
	// can name the part it cannot read.
	Content json.RawMessage `json:"content"`
	// ReasoningContent is an assistant's earlier reasoning (llama.cpp's
	// field), for templates that render it.
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is the call a tool message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is a tool message's tool name (other roles' names are kept
	// by no template).
	Name string `json:"name,omitempty"`
}

// StringContent is s as a message's content.
func StringContent(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// Tool is a tool definition of a chat request.
type Tool struct {
	Type     string       `json:"type"`
	Function *FunctionDef `json:"function"`
}

// FunctionDef is a function tool's name, description and JSON Schema
// for its arguments; Strict holds calls to the schema exactly.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict,omitempty"`
}
