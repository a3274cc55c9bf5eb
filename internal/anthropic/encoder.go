package anthropic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tetherllm/tether/llm"
)

// Encoder turns a generation's [llm.Event]s into the Messages API's
// stream events, and puts together the same answer as one [Response], so
// that a streamed and a complete answer have the same blocks. Blocks
// follow the events: reasoning deltas make a thinking block, text deltas
// a text block, each tool call a tool_use block; a change of kind closes
// the block that was open.
type Encoder struct {
	msg   Response
	open  bool // the last block of msg is open
	stops []string
}

// NewEncoder starts the answer id of model to a prompt of inputTokens
// tokens. stops are the request's stop sequences, to name the one that
// ended the answer.
func NewEncoder(id, model string, inputTokens int, stops []string) *Encoder {
	return &Encoder{
		msg:   Response{ID: id, Type: "message", Role: "assistant", Model: model, Content: Content{}, Usage: Usage{InputTokens: inputTokens}},
		stops: stops,
	}
}

// Start is the stream's message_start event.
func (e *Encoder) Start() StreamEvent {
	m := e.msg
	m.Content, m.StopReason, m.StopSequence = Content{}, nil, nil
	return StreamEvent{Type: EventMessageStart, Message: &m}
}

// Response is the answer put together so far; after EventDone, the
// whole answer.
func (e *Encoder) Response() *Response {
	m := e.msg
	return &m
}

// Signature is what tether sends as a thinking block's signature:
// "sha256:" and the hex SHA-256 digest of the thinking text. Anthropic's
// signatures are encrypted proofs that only its API can check; tether's
// is a plain digest (no key, no secret), sent because clients expect the
// field, and never checked when a thinking block comes back.
func Signature(thinking string) string {
	sum := sha256.Sum256([]byte(thinking))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (e *Encoder) last() *ContentBlock { return &e.msg.Content[len(e.msg.Content)-1] }

func (e *Encoder) index() int { return len(e.msg.Content) - 1 }

// close ends the open block, if any.
func (e *Encoder) close(out []StreamEvent) []StreamEvent {
	if !e.open {
		return out
	}
	e.open = false
	b := e.last()
	if b.Type == BlockThinking {
		b.Signature = Signature(b.Thinking)
		out = append(out, StreamEvent{Type: EventContentBlockDelta, Index: e.index(), Delta: &Delta{Type: DeltaSignature, Signature: b.Signature}})
	}
	return append(out, StreamEvent{Type: EventContentBlockStop, Index: e.index()})
}

// begin closes the open block and opens b.
func (e *Encoder) begin(out []StreamEvent, b ContentBlock) []StreamEvent {
	out = e.close(out)
	e.msg.Content = append(e.msg.Content, b)
	e.open = true
	start := b
	if start.Type == BlockToolUse {
		start.Input = json.RawMessage("{}")
	}
	return append(out, StreamEvent{Type: EventContentBlockStart, Index: e.index(), ContentBlock: &start})
}

// Add takes the next event of the generation and returns the stream
// events it makes.
func (e *Encoder) Add(ev llm.Event) []StreamEvent {
	var out []StreamEvent
	switch ev.Kind {
	case llm.EventTextDelta, llm.EventReasoningDelta:
		if ev.Text == "" {
			return nil
		}
		kind, delta := BlockText, &Delta{Type: DeltaText, Text: ev.Text}
		if ev.Kind == llm.EventReasoningDelta {
			kind, delta = BlockThinking, &Delta{Type: DeltaThinking, Thinking: ev.Text}
		}
		if !e.open || e.last().Type != kind {
			out = e.begin(out, ContentBlock{Type: kind})
		}
		if kind == BlockText {
			e.last().Text += ev.Text
		} else {
			e.last().Thinking += ev.Text
		}
		out = append(out, StreamEvent{Type: EventContentBlockDelta, Index: e.index(), Delta: delta})
	case llm.EventToolCallStart:
		if ev.ToolCall != nil {
			out = e.begin(out, ContentBlock{Type: BlockToolUse, ID: ev.ToolCall.ID, Name: ev.ToolCall.Name})
		}
	case llm.EventToolCallEnd:
		if ev.ToolCall == nil {
			return nil
		}
		c := ev.ToolCall
		if !e.open || e.last().Type != BlockToolUse || e.last().ID != c.ID {
			out = e.begin(out, ContentBlock{Type: BlockToolUse, ID: c.ID, Name: c.Name})
		}
		input := compactOrEmpty(c.Input)
		e.last().Input = input
		out = append(out, StreamEvent{Type: EventContentBlockDelta, Index: e.index(), Delta: &Delta{Type: DeltaInputJSON, PartialJSON: string(input)}})
		out = e.close(out)
	case llm.EventDone:
		if r := ev.Response; r != nil {
			e.finish(r)
		}
		out = e.end(out)
	}
	return out
}

// StopContextWindow is the stop reason of an answer that filled the
// model's context window.
const StopContextWindow = "model_context_window_exceeded"

// Stop ends the answer for a reason the generation's events cannot say
// (StopContextWindow: the context filled up), with outputTokens
// generated, and returns the stream's last events.
func (e *Encoder) Stop(reason string, outputTokens int) []StreamEvent {
	e.msg.StopReason = &reason
	e.msg.Usage.OutputTokens = outputTokens
	return e.end(nil)
}

// end closes the open block and the message.
func (e *Encoder) end(out []StreamEvent) []StreamEvent {
	out = e.close(out)
	d := &Delta{StopReason: e.msg.StopReason, StopSequence: e.msg.StopSequence}
	u := e.msg.Usage
	return append(out, StreamEvent{Type: EventMessageDelta, Delta: d, Usage: &u}, StreamEvent{Type: EventMessageStop})
}

func (e *Encoder) finish(r *llm.Response) {
	reason := StopEndTurn
	switch r.StopReason {
	case llm.StopToolUse:
		reason = StopToolUse
	case llm.StopMaxTokens:
		reason = StopMaxTokens
	case llm.StopContextWindow:
		reason = StopContextWindow
	case llm.StopStopSequence:
		reason = StopStopSequence
		// The engine does not say which sequence matched; with one, it
		// is that one.
		if len(e.stops) == 1 {
			e.msg.StopSequence = &e.stops[0]
		}
	}
	e.msg.StopReason = &reason
	e.msg.Usage.InputTokens = r.Usage.InputTokens
	e.msg.Usage.OutputTokens = r.Usage.OutputTokens
}

func compactOrEmpty(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if len(bytes.TrimSpace(raw)) == 0 || json.Compact(&b, raw) != nil {
		return json.RawMessage("{}")
	}
	return b.Bytes()
}
