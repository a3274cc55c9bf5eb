package openai

import (
	"encoding/json"

	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// chatRequest is the body of POST /v1/chat/completions. Optional fields
// are sent only when set, so the server's defaults apply otherwise.
type chatRequest struct {
	Model         string                   `json:"model,omitempty"`
	Messages      []oaiwire.RequestMessage `json:"messages"`
	Tools         []oaiwire.Tool           `json:"tools,omitempty"`
	MaxTokens     int                      `json:"max_tokens,omitempty"`
	Temperature   *float64                 `json:"temperature,omitempty"`
	TopK          *int                     `json:"top_k,omitempty"`
	TopP          *float64                 `json:"top_p,omitempty"`
	MinP          *float64                 `json:"min_p,omitempty"`
	RepeatPenalty *float64                 `json:"repeat_penalty,omitempty"`
	RepeatLastN   *int                     `json:"repeat_last_n,omitempty"`
	Seed          *int64                   `json:"seed,omitempty"`
	Stop          []string                 `json:"stop,omitempty"`
	Stream        bool                     `json:"stream"`
	StreamOptions *streamOptions           `json:"stream_options,omitempty"`
	// ToolChoice is "none", "required" or a named function; "auto", the
	// default, is not sent.
	ToolChoice     any                 `json:"tool_choice,omitempty"`
	ResponseFormat *wireResponseFormat `json:"response_format,omitempty"`
}

type wireResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema *wireJSONSchema `json:"json_schema,omitempty"`
}

type wireJSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict,omitempty"`
}

type wireNamedTool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// responseFormat is f on the wire.
func responseFormat(f *llm.ResponseFormat) *wireResponseFormat {
	if f == nil {
		return nil
	}
	w := &wireResponseFormat{Type: string(f.Type)}
	if f.Type == llm.FormatJSONSchema {
		name := f.Name
		if name == "" {
			name = "response"
		}
		w.JSONSchema = &wireJSONSchema{Name: name, Schema: f.Schema, Strict: f.Strict}
	}
	return w
}

// toolChoice is c on the wire, or nil for the server's default (auto).
func toolChoice(c llm.ToolChoice) any {
	switch c.Mode {
	case llm.ToolNone:
		return "none"
	case llm.ToolRequired:
		return "required"
	case llm.ToolNamed:
		t := wireNamedTool{Type: "function"}
		t.Function.Name = c.Name
		return t
	}
	return nil
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// buildRequest turns an llm.Request into the wire body.
func (c *Client) buildRequest(req llm.Request, stream bool) chatRequest {
	body := chatRequest{
		Model:         c.opts.Model,
		MaxTokens:     req.MaxTokens,
		Temperature:   req.Temperature,
		TopK:          req.TopK,
		TopP:          req.TopP,
		MinP:          req.MinP,
		RepeatPenalty: req.RepeatPenalty,
		RepeatLastN:   req.RepeatLastN,
		Seed:          req.Seed,
		Stop:          req.Stop,
		Stream:        stream,

		ResponseFormat: responseFormat(req.ResponseFormat),
	}
	if stream {
		body.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	system := req.System
	if req.ToolChoice.Mode == llm.ToolNone {
		req.Tools = nil
	}
	if len(req.Tools) > 0 {
		// The verbose section describes the tools again; they travel
		// natively or in RenderTools' compact form instead.
		system = toolcall.CutSystem(system)
	}
	if c.opts.ToolMode == ToolsText {
		if len(req.Tools) > 0 {
			system = toolcall.JoinText(system, toolcall.RenderTools(req.Tools))
		}
		body.Messages = c.textMessages(system, req.Messages)
		return body
	}
	body.Messages = c.nativeMessages(system, req.Messages)
	if len(req.Tools) > 0 {
		body.ToolChoice = toolChoice(req.ToolChoice)
	}
	for _, t := range req.Tools {
		params := t.InputSchema
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		body.Tools = append(body.Tools, oaiwire.Tool{Type: "function", Function: &oaiwire.FunctionDef{Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}})
	}
	return body
}

// nativeMessages renders the history with OpenAI's tool_calls and tool
// messages. An assistant's text and the calls that follow it, and calls
// in a row, become one assistant message, as OpenAI expects.
func (c *Client) nativeMessages(system string, history []llm.Message) []oaiwire.RequestMessage {
	msgs := make([]oaiwire.RequestMessage, 0, len(history)+1)
	if system != "" {
		msgs = append(msgs, oaiwire.RequestMessage{Role: "system", Content: oaiwire.StringContent(system)})
	}
	for _, m := range history {
		switch {
		case m.Role == llm.RoleTool && m.ToolResult != nil:
			content := m.ToolResult.Content
			if m.ToolResult.IsError {
				// OpenAI has no error flag; say it in the text.
				content = "Error: " + content
			}
			msgs = append(msgs, oaiwire.RequestMessage{Role: "tool", Content: oaiwire.StringContent(content), ToolCallID: m.ToolResult.ToolUseID})
		case m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0:
			calls := make([]oaiwire.ToolCall, len(m.ToolCalls))
			for i, tc := range m.ToolCalls {
				calls[i] = oaiwire.ToolCall{ID: tc.ID, Type: "function", Function: oaiwire.Function{Name: tc.Name, Arguments: oaiwire.Arguments{Text: arguments(tc.Input)}}}
			}
			if last := len(msgs) - 1; last >= 0 && msgs[last].Role == "assistant" && m.Content == "" {
				msgs[last].ToolCalls = append(msgs[last].ToolCalls, calls...)
				continue
			}
			msg := oaiwire.RequestMessage{Role: "assistant", ToolCalls: calls, ReasoningContent: c.reasoning(m)}
			if m.Content != "" {
				msg.Content = oaiwire.StringContent(m.Content)
			}
			msgs = append(msgs, msg)
		default:
			msgs = append(msgs, oaiwire.RequestMessage{Role: string(m.Role), Content: oaiwire.StringContent(m.Content), ReasoningContent: c.reasoning(m)})
		}
	}
	return msgs
}

func (c *Client) reasoning(m llm.Message) string {
	if c.opts.ReasoningInHistory {
		return m.Reasoning
	}
	return ""
}

// arguments renders a call's input as OpenAI's arguments string.
func arguments(input json.RawMessage) string {
	if len(input) == 0 {
		return "{}"
	}
	return string(input)
}

// textMessages renders the history in the text protocol
// ([toolcall.RenderHistory]), with reasoning as a <think> block when the
// server wants it back.
func (c *Client) textMessages(system string, history []llm.Message) []oaiwire.RequestMessage {
	msgs := make([]oaiwire.RequestMessage, 0, len(history)+1)
	if system != "" {
		msgs = append(msgs, oaiwire.RequestMessage{Role: "system", Content: oaiwire.StringContent(system)})
	}
	for _, m := range toolcall.RenderHistory(history) {
		text := m.Content
		if m.Role == llm.RoleAssistant && c.opts.ReasoningInHistory && m.Reasoning != "" {
			text = "<think>\n" + m.Reasoning + "\n</think>\n\n" + text
		}
		msgs = append(msgs, oaiwire.RequestMessage{Role: string(m.Role), Content: oaiwire.StringContent(text)})
	}
	return msgs
}
