package llm

// EventKind says what an [Event] carries.
type EventKind int

// The kinds of stream events, in the order a stream can produce them:
// any number of text and reasoning deltas and tool-call pairs, then
// exactly one EventDone as the last event of a successful stream.
//
// The deltas and the final [Response] agree: the text deltas joined are
// exactly Response.Text, the reasoning deltas joined are exactly
// Response.Reasoning, and the EventToolCallEnd calls, in order, are
// Response.ToolCalls. A caller may print deltas as they come and keep the
// final Response, and the two never differ.
const (
	// EventTextDelta carries the next piece of answer text in Text.
	EventTextDelta EventKind = iota + 1
	// EventReasoningDelta carries the next piece of reasoning in Text.
	EventReasoningDelta
	// EventToolCallStart announces a tool call: ToolCall has ID and Name;
	// its Input is not known yet.
	EventToolCallStart
	// EventToolCallEnd carries the complete tool call with validated Input.
	EventToolCallEnd
	// EventDone ends the stream; Response holds the aggregated result
	// (stop reason, usage, timings, and all text, reasoning and calls).
	EventDone
	// EventLogprobs carries the log-probabilities of the tokens generated
	// since the last such event, in Logprobs. Only drivers asked for
	// log-probabilities send it; it can come before the text of those
	// tokens, which may be held back (a possible stop string, a tool
	// call not yet complete).
	EventLogprobs
)

var eventKindNames = [...]string{
	EventTextDelta:      "text_delta",
	EventReasoningDelta: "reasoning_delta",
	EventToolCallStart:  "tool_call_start",
	EventToolCallEnd:    "tool_call_end",
	EventDone:           "done",
	EventLogprobs:       "logprobs",
}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is one step of a streamed completion.
type Event struct {
	Kind     EventKind
	Text     string
	ToolCall *ToolCall
	Response *Response
	Logprobs []TokenLogprob
}
