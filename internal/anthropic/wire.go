package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/tetherllm/tether/internal/jsontype"
)

// The Messages API's wire shapes, shared by tether serve's /v1/messages
// and [Client]. Decoding names the JSON path of a field of the wrong type
// in a *[FieldError]; fields the types do not model are kept in Extra
// (ContentBlock sends them on again), so that a server can refuse them
// by name rather than ignore them.

// Request is the body of POST /v1/messages. A count_tokens request is the
// same without the generation fields (max_tokens, stream, sampling,
// stop_sequences, metadata).
type Request struct {
	Model         string      `json:"model"`
	MaxTokens     int         `json:"max_tokens,omitempty"`
	System        Content     `json:"system,omitempty"`
	Messages      []Message   `json:"messages"`
	Tools         []Tool      `json:"tools,omitempty"`
	ToolChoice    *ToolChoice `json:"tool_choice,omitempty"`
	Thinking      *Thinking   `json:"thinking,omitempty"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	TopK          *int        `json:"top_k,omitempty"`
	// Metadata is Anthropic's {"user_id": …}, carried as it is.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// Extra holds the fields of the body that Request does not model.
	Extra map[string]json.RawMessage `json:"-"`
	// Present lists the modelled fields the body had, by JSON name, so
	// that a server can tell a missing max_tokens from a zero one.
	Present map[string]bool `json:"-"`
}

// UnmarshalJSON reads a request, naming the path of a bad field.
func (r *Request) UnmarshalJSON(data []byte) error {
	o, err := readObject(data)
	if err != nil {
		return err
	}
	var v Request
	v.Present = map[string]bool{}
	for k := range o {
		v.Present[k] = true
	}
	if err := firstErr(
		o.take("model", &v.Model),
		o.take("max_tokens", &v.MaxTokens),
		o.take("system", &v.System),
		o.take("messages", &messagesField{&v.Messages}),
		o.take("tools", &toolsField{&v.Tools}),
		o.take("tool_choice", &v.ToolChoice),
		o.take("thinking", &v.Thinking),
		o.take("stop_sequences", &v.StopSequences),
		o.take("stream", &v.Stream),
		o.take("temperature", &v.Temperature),
		o.take("top_p", &v.TopP),
		o.take("top_k", &v.TopK),
		o.take("metadata", &v.Metadata),
	); err != nil {
		return err
	}
	v.Extra = o.rest()
	for k := range v.Extra {
		delete(v.Present, k)
	}
	*r = v
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type messagesField struct{ dst *[]Message }

func (f *messagesField) UnmarshalJSON(b []byte) (err error) {
	*f.dst, err = decodeArray(b, func(m *Message, raw []byte) error { return m.UnmarshalJSON(raw) })
	return err
}

type toolsField struct{ dst *[]Tool }

func (f *toolsField) UnmarshalJSON(b []byte) (err error) {
	*f.dst, err = decodeArray(b, func(t *Tool, raw []byte) error { return t.UnmarshalJSON(raw) })
	return err
}

// Message is one turn of the conversation: role "user" or "assistant".
type Message struct {
	Role    string                     `json:"role"`
	Content Content                    `json:"content"`
	Extra   map[string]json.RawMessage `json:"-"`
}

func (m *Message) UnmarshalJSON(data []byte) error {
	o, err := readObject(data)
	if err != nil {
		return err
	}
	var v Message
	if err := firstErr(o.take("role", &v.Role), o.take("content", &v.Content)); err != nil {
		return err
	}
	v.Extra = o.rest()
	*m = v
	return nil
}

// Content is a list of content blocks. It is read from a string (one text
// block) or an array of blocks, and always written as an array.
type Content []ContentBlock

func (c *Content) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return &FieldError{Reason: "is not a valid string"}
		}
		*c = Content{{Type: "text", Text: s}}
		return nil
	}
	if len(data) == 0 || data[0] != '[' {
		return &FieldError{Reason: "must be a string or an array of content blocks, not " + jsontype.Of(data)}
	}
	blocks, err := decodeArray(data, func(b *ContentBlock, raw []byte) error { return b.UnmarshalJSON(raw) })
	if err != nil {
		return err
	}
	*c = blocks
	return nil
}

// The content block types this package models.
const (
	BlockText             = "text"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
)

// ContentBlock is one block of a message: text, thinking,
// redacted_thinking, tool_use or tool_result. Blocks of other types
// (image, document, …) keep all their fields but type in Extra.
type ContentBlock struct {
	Type string
	// Text is a text block's text.
	Text string
	// Thinking and Signature are a thinking block's.
	Thinking  string
	Signature string
	// Data is a redacted_thinking block's.
	Data string
	// ID, Name and Input are a tool_use block's.
	ID    string
	Name  string
	Input json.RawMessage
	// ToolUseID, Content and IsError are a tool_result block's; its
	// content is a string or an array of blocks.
	ToolUseID string
	Content   Content
	IsError   bool
	// CacheControl is Anthropic's prompt-caching mark, carried as it is.
	CacheControl json.RawMessage
	// Extra holds the fields the block's type does not have here.
	Extra map[string]json.RawMessage
}

func (b *ContentBlock) UnmarshalJSON(data []byte) error {
	o, err := readObject(data)
	if err != nil {
		return err
	}
	var v ContentBlock
	if err := o.take("type", &v.Type); err != nil {
		return err
	}
	switch v.Type {
	case "":
		return &FieldError{Field: "type", Reason: "a content block needs a type"}
	case BlockText:
		err = firstErr(o.take("text", &v.Text), o.take("cache_control", &v.CacheControl))
	case BlockThinking:
		err = firstErr(o.take("thinking", &v.Thinking), o.take("signature", &v.Signature))
	case BlockRedactedThinking:
		err = o.take("data", &v.Data)
	case BlockToolUse:
		err = firstErr(o.take("id", &v.ID), o.take("name", &v.Name), o.take("input", &v.Input), o.take("cache_control", &v.CacheControl))
	case BlockToolResult:
		err = firstErr(o.take("tool_use_id", &v.ToolUseID), o.take("content", &v.Content), o.take("is_error", &v.IsError),
			o.take("cache_control", &v.CacheControl))
	}
	if err != nil {
		return err
	}
	v.Extra = o.rest()
	*b = v
	return nil
}

// MarshalJSON writes the fields of the block's type, those the API
// requires even when empty included.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	o := map[string]any{"type": b.Type}
	for k, v := range b.Extra {
		o[k] = v
	}
	switch b.Type {
	case BlockText:
		o["text"] = b.Text
	case BlockThinking:
		o["thinking"], o["signature"] = b.Thinking, b.Signature
	case BlockRedactedThinking:
		o["data"] = b.Data
	case BlockToolUse:
		input := b.Input
		if len(bytes.TrimSpace(input)) == 0 {
			input = json.RawMessage("{}")
		}
		o["id"], o["name"], o["input"] = b.ID, b.Name, input
	case BlockToolResult:
		o["tool_use_id"] = b.ToolUseID
		if len(b.Content) > 0 {
			o["content"] = b.Content
		}
		if b.IsError {
			o["is_error"] = true
		}
	}
	if len(b.CacheControl) > 0 {
		o["cache_control"] = b.CacheControl
	}
	return json.Marshal(o)
}

// MarshalJSON writes content as an array, empty rather than null.
func (c Content) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]ContentBlock(c))
}

// Tool is a client tool: a name, a description and a JSON Schema for its
// input. Anthropic's server tools have a type other than "custom".
type Tool struct {
	Type         string                     `json:"type,omitempty"`
	Name         string                     `json:"name"`
	Description  string                     `json:"description,omitempty"`
	InputSchema  json.RawMessage            `json:"input_schema"`
	CacheControl json.RawMessage            `json:"cache_control,omitempty"`
	Extra        map[string]json.RawMessage `json:"-"`
}

func (t *Tool) UnmarshalJSON(data []byte) error {
	o, err := readObject(data)
	if err != nil {
		return err
	}
	var v Tool
	if err := firstErr(o.take("type", &v.Type), o.take("name", &v.Name), o.take("description", &v.Description),
		o.take("input_schema", &v.InputSchema), o.take("cache_control", &v.CacheControl)); err != nil {
		return err
	}
	v.Extra = o.rest()
	*t = v
	return nil
}

// The tool_choice types.
const (
	ChoiceAuto = "auto"
	ChoiceAny  = "any"
	ChoiceTool = "tool"
	ChoiceNone = "none"
)

// ToolChoice is {"type": "auto" | "any" | "tool" | "none"}, with the
// tool's name for "tool".
type ToolChoice struct {
	Type                   string                     `json:"type"`
	Name                   string                     `json:"name,omitempty"`
	DisableParallelToolUse bool                       `json:"disable_parallel_tool_use,omitempty"`
	Extra                  map[string]json.RawMessage `json:"-"`
}

func (c *ToolChoice) UnmarshalJSON(data []byte) error {
	o, err := readObject(data)
	if err != nil {
		return err
	}
	var v ToolChoice
	if err := firstErr(o.take("type", &v.Type), o.take("name", &v.Name), o.take("disable_parallel_tool_use", &v.DisableParallelToolUse)); err != nil {
		return err
	}
	v.Extra = o.rest()
	*c = v
	return nil
}

// Thinking is {"type": "enabled", "budget_tokens": N} or {"type":
// "disabled"}.
type Thinking struct {
	Type         string                     `json:"type"`
	BudgetTokens int                        `json:"budget_tokens,omitempty"`
	Extra        map[string]json.RawMessage `json:"-"`
}

func (t *Thinking) UnmarshalJSON(data []byte) error {
	o, err := readObject(data)
	if err != nil {
		return err
	}
	var v Thinking
	if err := firstErr(o.take("type", &v.Type), o.take("budget_tokens", &v.BudgetTokens)); err != nil {
		return err
	}
	v.Extra = o.rest()
	*t = v
	return nil
}

// The stop reasons of an answer.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopStopSequence = "stop_sequence"
	StopToolUse      = "tool_use"
)

// Response is a message the model wrote: the answer of POST /v1/messages,
// and the message of a stream's message_start (with no content and a
// null stop_reason).
type Response struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"` // "message"
	Role         string  `json:"role"` // "assistant"
	Model        string  `json:"model"`
	Content      Content `json:"content"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        Usage   `json:"usage"`
}

// Usage counts an answer's tokens. InputTokens counts the prompt not read
// from a cache; the total prompt is the sum of the three input counts.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// TokenCount is the answer of POST /v1/messages/count_tokens.
type TokenCount struct {
	InputTokens int `json:"input_tokens"`
}

// The stream's event types.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// The delta types of content_block_delta.
const (
	DeltaText      = "text_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
	DeltaInputJSON = "input_json_delta"
)

// StreamEvent is one event of a streamed answer. Which fields it has
// depends on Type.
type StreamEvent struct {
	Type         string
	Message      *Response     // message_start
	Index        int           // content_block_start, _delta, _stop
	ContentBlock *ContentBlock // content_block_start
	Delta        *Delta        // content_block_delta, message_delta
	Usage        *Usage        // message_delta
	Error        *ErrorObject  // error
}

// Delta is a content_block_delta's delta (by its Type), or a
// message_delta's (Type empty: the stop reason and sequence).
type Delta struct {
	Type         string  `json:"type,omitempty"`
	Text         string  `json:"text,omitempty"`
	Thinking     string  `json:"thinking,omitempty"`
	Signature    string  `json:"signature,omitempty"`
	PartialJSON  string  `json:"partial_json,omitempty"`
	StopReason   *string `json:"stop_reason,omitempty"`
	StopSequence *string `json:"stop_sequence,omitempty"`
}

// MarshalJSON writes the fields of the event's type only.
func (e StreamEvent) MarshalJSON() ([]byte, error) {
	switch e.Type {
	case EventMessageStart:
		return json.Marshal(struct {
			Type    string    `json:"type"`
			Message *Response `json:"message"`
		}{e.Type, e.Message})
	case EventContentBlockStart:
		return json.Marshal(struct {
			Type         string        `json:"type"`
			Index        int           `json:"index"`
			ContentBlock *ContentBlock `json:"content_block"`
		}{e.Type, e.Index, e.ContentBlock})
	case EventContentBlockDelta:
		return json.Marshal(struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
			Delta any    `json:"delta"`
		}{e.Type, e.Index, e.Delta.wire()})
	case EventContentBlockStop:
		return json.Marshal(struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
		}{e.Type, e.Index})
	case EventMessageDelta:
		d := e.Delta
		if d == nil {
			d = &Delta{}
		}
		return json.Marshal(struct {
			Type  string `json:"type"`
			Delta struct {
				StopReason   *string `json:"stop_reason"`
				StopSequence *string `json:"stop_sequence"`
			} `json:"delta"`
			Usage *Usage `json:"usage,omitempty"`
		}{Type: e.Type, Delta: struct {
			StopReason   *string `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		}{d.StopReason, d.StopSequence}, Usage: e.Usage})
	case EventError:
		return json.Marshal(ErrorBody{Type: "error", Error: *e.Error})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
	}{e.Type})
}

// wire is a content delta with the one field its type requires.
func (d *Delta) wire() any {
	if d == nil {
		return struct{}{}
	}
	field := map[string]string{DeltaText: "text", DeltaThinking: "thinking", DeltaSignature: "signature", DeltaInputJSON: "partial_json"}[d.Type]
	value := map[string]string{"text": d.Text, "thinking": d.Thinking, "signature": d.Signature, "partial_json": d.PartialJSON}[field]
	if field == "" {
		return d
	}
	return map[string]string{"type": d.Type, field: value}
}

// UnmarshalJSON reads an event of any type.
func (e *StreamEvent) UnmarshalJSON(data []byte) error {
	var v struct {
		Type         string        `json:"type"`
		Message      *Response     `json:"message"`
		Index        int           `json:"index"`
		ContentBlock *ContentBlock `json:"content_block"`
		Delta        *Delta        `json:"delta"`
		Usage        *Usage        `json:"usage"`
		Error        *ErrorObject  `json:"error"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*e = StreamEvent{Type: v.Type, Message: v.Message, Index: v.Index, ContentBlock: v.ContentBlock, Delta: v.Delta, Usage: v.Usage, Error: v.Error}
	return nil
}

// The error types of the API, by the HTTP status they come with.
const (
	ErrInvalidRequest = "invalid_request_error" // 400
	ErrAuthentication = "authentication_error"  // 401
	ErrPermission     = "permission_error"      // 403
	ErrNotFound       = "not_found_error"       // 404
	ErrRequestTooLong = "request_too_large"     // 413
	ErrRateLimit      = "rate_limit_error"      // 429
	ErrAPI            = "api_error"             // 500
	ErrOverloaded     = "overloaded_error"      // 529 (503 too)
)

// ErrorBody is an error answer: {"type": "error", "error": {…}}.
type ErrorBody struct {
	Type  string      `json:"type"`
	Error ErrorObject `json:"error"`
}

// ErrorObject says what failed.
type ErrorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
