package anthropic

import (
	"fmt"
	"strings"
	"time"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// Decoder puts an answer together from the Messages API's stream events
// and emits the matching [llm.Event]s: text and reasoning deltas as they
// come, a tool call's start at its content_block_start and its end, with
// the complete input, at its content_block_stop, and EventDone at
// message_stop. A complete answer is decoded by feeding it as the events
// of a stream ([Response.Events]).
type Decoder struct {
	emit    func(llm.Event) bool // nil: no events
	stopped bool                 // the consumer stopped
	ids     *toolcall.IDs

	blocks  []*decodedBlock
	seenIDs map[string]bool
	resp    llm.Response
	text    strings.Builder
	reason  strings.Builder
	stop    string
	started bool
	done    bool

	start, first time.Time
	// measure says the answer arrives as it is made, so that the time
	// to its first output and after it are the prompt's and the
	// generation's.
	measure bool
}

type decodedBlock struct {
	typ   string
	id    string
	name  string
	input strings.Builder
	// startInput is the input of a tool_use's start, used when no delta
	// follows (a complete answer).
	startInput []byte
	closed     bool
}

// NewDecoder returns a decoder that emits to emit (nil for none); ids
// replaces a missing or repeated tool-use id (nil: a fresh source).
func NewDecoder(emit func(llm.Event) bool, ids *toolcall.IDs) *Decoder {
	if ids == nil {
		ids = toolcall.NewIDs()
	}
	return &Decoder{emit: emit, ids: ids, seenIDs: map[string]bool{}, start: time.Now()}
}

// Stopped reports whether the consumer of the events stopped.
func (d *Decoder) Stopped() bool { return d.stopped }

// Done reports whether message_stop has been seen.
func (d *Decoder) Done() bool { return d.done }

func (d *Decoder) send(ev llm.Event) {
	if d.emit != nil && !d.stopped && !d.emit(ev) {
		d.stopped = true
	}
}

func (d *Decoder) output() {
	if d.first.IsZero() {
		d.first = time.Now()
	}
}

// Add applies one event. An error event is returned as the error it
// stands for; events out of order are an *llm.ProtocolError.
func (d *Decoder) Add(ev StreamEvent) error {
	if d.done {
		return nil
	}
	switch ev.Type {
	case EventMessageStart:
		if ev.Message == nil {
			return &llm.ProtocolError{Reason: "message_start without a message"}
		}
		d.started = true
		d.setUsage(&ev.Message.Usage)
		for _, b := range ev.Message.Content { // a server that sends content at once
			if err := d.block(len(d.blocks), &b); err != nil {
				return err
			}
			if err := d.closeBlock(len(d.blocks) - 1); err != nil {
				return err
			}
		}
	case EventContentBlockStart:
		if ev.ContentBlock == nil {
			return &llm.ProtocolError{Reason: "content_block_start without a content block"}
		}
		return d.block(ev.Index, ev.ContentBlock)
	case EventContentBlockDelta:
		b, err := d.at(ev.Index, ev.Type)
		if err != nil {
			return err
		}
		if ev.Delta == nil {
			return &llm.ProtocolError{Reason: "content_block_delta without a delta"}
		}
		switch ev.Delta.Type {
		case DeltaText:
			d.addText(ev.Delta.Text)
		case DeltaThinking:
			d.addReasoning(ev.Delta.Thinking)
		case DeltaInputJSON:
			if b.typ != BlockToolUse {
				return &llm.ProtocolError{Reason: fmt.Sprintf("input_json_delta for a %s block", b.typ)}
			}
			b.input.WriteString(ev.Delta.PartialJSON)
		}
	case EventContentBlockStop:
		return d.closeBlock(ev.Index)
	case EventMessageDelta:
		if ev.Delta != nil && ev.Delta.StopReason != nil {
			d.stop = *ev.Delta.StopReason
		}
		if ev.Usage != nil {
			d.setUsage(ev.Usage)
		}
	case EventMessageStop:
		return d.finish()
	case EventError:
		if ev.Error == nil {
			return streamError(ErrorObject{Message: "error event without an error"})
		}
		return streamError(*ev.Error)
	}
	return nil // ping, and types added to the API later
}

func (d *Decoder) setUsage(u *Usage) {
	if in := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens; in > 0 {
		d.resp.Usage.InputTokens = in
	}
	if u.OutputTokens > 0 {
		d.resp.Usage.OutputTokens = u.OutputTokens
	}
}

func (d *Decoder) block(index int, cb *ContentBlock) error {
	if index != len(d.blocks) {
		return &llm.ProtocolError{Reason: fmt.Sprintf("content block %d started after %d blocks", index, len(d.blocks))}
	}
	b := &decodedBlock{typ: cb.Type}
	d.blocks = append(d.blocks, b)
	switch cb.Type {
	case BlockText:
		d.addText(cb.Text)
	case BlockThinking:
		d.addReasoning(cb.Thinking)
	case BlockToolUse:
		if cb.Name == "" {
			return &llm.ProtocolError{Reason: fmt.Sprintf("tool_use block %d has no name", index)}
		}
		b.name, b.id, b.startInput = cb.Name, cb.ID, cb.Input
		// An id must be unique: replace a missing or repeated one.
		if b.id == "" || d.seenIDs[b.id] {
			b.id = d.ids.Next()
		}
		d.seenIDs[b.id] = true
		d.output()
		d.send(llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: b.id, Name: b.name}})
	}
	return nil
}

func (d *Decoder) at(index int, what string) (*decodedBlock, error) {
	if index < 0 || index >= len(d.blocks) {
		return nil, &llm.ProtocolError{Reason: fmt.Sprintf("%s for content block %d, which was not started", what, index)}
	}
	return d.blocks[index], nil
}

func (d *Decoder) addText(s string) {
	if s == "" {
		return
	}
	d.output()
	d.text.WriteString(s)
	d.send(llm.Event{Kind: llm.EventTextDelta, Text: s})
}

func (d *Decoder) addReasoning(s string) {
	if s == "" {
		return
	}
	d.output()
	d.reason.WriteString(s)
	d.send(llm.Event{Kind: llm.EventReasoningDelta, Text: s})
}

func (d *Decoder) closeBlock(index int) error {
	b, err := d.at(index, EventContentBlockStop)
	if err != nil || b.closed {
		return err
	}
	b.closed = true
	if b.typ != BlockToolUse {
		return nil
	}
	raw := []byte(b.input.String())
	if len(strings.TrimSpace(string(raw))) == 0 {
		raw = b.startInput
	}
	input, err := compactInput(raw)
	if err != nil {
		reason := fmt.Sprintf("tool_use %q: the input is not a JSON object", b.name)
		if d.stop == StopMaxTokens {
			reason += " (the answer was cut at max_tokens)"
		}
		return &llm.ProtocolError{Reason: reason, Err: err}
	}
	call := llm.ToolCall{ID: b.id, Name: b.name, Input: input}
	d.resp.ToolCalls = append(d.resp.ToolCalls, call)
	d.send(llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &call})
	return nil
}

func (d *Decoder) finish() error {
	if !d.started {
		return &llm.ProtocolError{Reason: "message_stop before message_start"}
	}
	for i, b := range d.blocks {
		if !b.closed {
			if err := d.closeBlock(i); err != nil {
				return err
			}
		}
	}
	d.done = true
	d.resp.Text, d.resp.Reasoning = d.text.String(), d.reason.String()
	d.resp.StopReason = stopReasonOf(d.stop, len(d.resp.ToolCalls) > 0)
	d.resp.Timings = llm.Timings{PromptTokens: d.resp.Usage.InputTokens, GeneratedTokens: d.resp.Usage.OutputTokens}
	if d.measure && !d.first.IsZero() {
		d.resp.Timings.PromptMS = ms(d.first.Sub(d.start))
		d.resp.Timings.GenerationMS = ms(time.Since(d.first))
	}
	resp := d.resp
	d.send(llm.Event{Kind: llm.EventDone, Response: &resp})
	return nil
}

// Response is the decoded answer, once Done.
func (d *Decoder) Response() *llm.Response {
	if !d.done {
		return nil
	}
	r := d.resp
	return &r
}

func ms(t time.Duration) float64 { return float64(t) / float64(time.Millisecond) }

// stopReasonOf maps the API's stop reason to tether's. An answer with
// tool calls is tool_use whatever the server said.
func stopReasonOf(reason string, calls bool) llm.StopReason {
	switch {
	case calls:
		return llm.StopToolUse
	case reason == StopMaxTokens:
		return llm.StopMaxTokens
	case reason == StopContextWindow:
		return llm.StopContextWindow
	case reason == StopStopSequence:
		return llm.StopStopSequence
	}
	return llm.StopEndTurn // end_turn, pause_turn, refusal
}

// Events is a complete answer as the events of a stream, so that it can
// be decoded as one.
func (r *Response) Events() []StreamEvent {
	start := *r
	start.Content = nil
	out := []StreamEvent{{Type: EventMessageStart, Message: &start}}
	for i := range r.Content {
		b := r.Content[i]
		out = append(out, StreamEvent{Type: EventContentBlockStart, Index: i, ContentBlock: &b}, StreamEvent{Type: EventContentBlockStop, Index: i})
	}
	u := r.Usage
	return append(out,
		StreamEvent{Type: EventMessageDelta, Delta: &Delta{StopReason: r.StopReason, StopSequence: r.StopSequence}, Usage: &u},
		StreamEvent{Type: EventMessageStop})
}
