package oaiwire

import "github.com/tetherllm/tether/llm"

// FinishReason is OpenAI's name for a stop reason.
func FinishReason(r llm.StopReason) string {
	switch r {
	case llm.StopToolUse:
		return "tool_calls"
	case llm.StopMaxTokens, llm.StopContextWindow:
		return "length"
	}
	return "stop"
}

// MessageOf is a whole answer's message: its text (null when it is only
// tool calls), reasoning and calls.
func MessageOf(r *llm.Response) *Message {
	msg := &Message{Role: "assistant", ReasoningContent: Text(r.Reasoning)}
	if r.Text != "" || len(r.ToolCalls) == 0 {
		msg.Content = Ptr(r.Text)
	}
	for _, c := range r.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: c.ID, Type: "function", Function: Function{Name: c.Name, Arguments: Args(c.Input)}})
	}
	return msg
}

// UsageOf is an answer's usage; the prompt tokens the engine did not
// read again are the cached ones.
func UsageOf(r *llm.Response) *Usage {
	u := &Usage{PromptTokens: r.Usage.InputTokens, CompletionTokens: r.Usage.OutputTokens, TotalTokens: r.Usage.Total()}
	u.PromptTokensDetails.CachedTokens = max(r.Usage.InputTokens-r.Timings.PromptTokens, 0)
	return u
}

// TimingsOf is an answer's timings in llama.cpp's shape.
func TimingsOf(r *llm.Response) *Timings {
	t := r.Timings
	out := &Timings{
		CacheN:      max(r.Usage.InputTokens-t.PromptTokens, 0),
		PromptN:     t.PromptTokens,
		PromptMS:    t.PromptMS,
		PredictedN:  t.GeneratedTokens,
		PredictedMS: t.GenerationMS,
	}
	if t.PromptTokens > 0 && t.PromptMS > 0 {
		out.PromptPerTokenMS = t.PromptMS / float64(t.PromptTokens)
		out.PromptPerSecond = t.PromptTokensPerSecond()
	}
	if t.GeneratedTokens > 0 && t.GenerationMS > 0 {
		out.PredictedPerTokenMS = t.GenerationMS / float64(t.GeneratedTokens)
		out.PredictedPerSecond = t.GenerationTokensPerSecond()
	}
	return out
}

// Deltas turns a stream's events into chunk deltas. A call's first delta
// has its index, id, type and name, its second its whole arguments.
type Deltas struct {
	// OneCall keeps only the first tool call (parallel_tool_calls false).
	OneCall bool
	calls   int
}

// First is a stream's first delta: the role, and empty content.
func (d *Deltas) First() *Delta { return &Delta{Role: "assistant", Content: Ptr("")} }

// Of is ev's delta; ok is false for an event that adds nothing to the
// message (EventDone, or a call OneCall leaves out).
func (d *Deltas) Of(ev llm.Event) (_ *Delta, ok bool) {
	if d.OneCall && d.calls > 0 && (ev.Kind == llm.EventToolCallStart || ev.Kind == llm.EventToolCallEnd) {
		return nil, false
	}
	switch ev.Kind {
	case llm.EventTextDelta:
		return &Delta{Content: Ptr(ev.Text)}, true
	case llm.EventReasoningDelta:
		return &Delta{ReasoningContent: Text(ev.Text)}, true
	case llm.EventToolCallStart:
		index := d.calls
		return &Delta{ToolCalls: []ToolCall{{Index: &index, ID: ev.ToolCall.ID, Type: "function", Function: Function{Name: ev.ToolCall.Name}}}}, true
	case llm.EventToolCallEnd:
		index := d.calls
		d.calls++
		return &Delta{ToolCalls: []ToolCall{{Index: &index, Function: Function{Arguments: Args(ev.ToolCall.Input)}}}}, true
	}
	return nil, false
}

// OneCallOnly keeps r's first tool call only, for parallel_tool_calls
// false.
func OneCallOnly(r *llm.Response) {
	if len(r.ToolCalls) > 1 {
		r.ToolCalls = r.ToolCalls[:1]
	}
}
