package agent

import (
	"fmt"
	"time"

	"github.com/tetherllm/tether/llm"
)

// EventKind says what an [Event] reports.
type EventKind int

// The events of a turn, in the order they happen: for each model call an
// EventModelCall, any EventRetry, the call's text and reasoning deltas as
// the model writes them, then an EventToolStart and EventToolEnd pair for
// each tool call the response made; finally one EventDone when the turn
// ends with an answer. A turn that fails ends without EventDone.
const (
	// EventModelCall: a model call is about to be made. Iteration is its
	// number in the turn, from 1. The deltas that follow, up to the next
	// EventModelCall, are this call's answer.
	EventModelCall EventKind = iota + 1
	// EventRetry: the model call failed with a retryable error before any
	// output arrived; it is made again after Delay. Text is the error.
	EventRetry
	// EventTextDelta carries the next piece of answer text in Text.
	EventTextDelta
	// EventReasoningDelta carries the next piece of reasoning in Text.
	EventReasoningDelta
	// EventToolStart: Call is about to be answered.
	EventToolStart
	// EventToolEnd: Call was answered with Result. Every call gets a start
	// and an end, also the ones the loop refuses to run (an unknown tool,
	// input that is not JSON, a repeated call): their Result is the error
	// the model receives.
	EventToolEnd
	// EventDone: the turn ended; Text is the final answer.
	EventDone
)

var eventKindNames = [...]string{
	EventModelCall:      "model_call",
	EventRetry:          "retry",
	EventTextDelta:      "text_delta",
	EventReasoningDelta: "reasoning_delta",
	EventToolStart:      "tool_start",
	EventToolEnd:        "tool_end",
	EventDone:           "done",
}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of a turn, given to [Config.OnEvent] as it happens so
// that a front end can show the answer while the model writes it.
type Event struct {
	Kind EventKind
	// Iteration is the number of the model call the event belongs to,
	// from 1.
	Iteration int
	// Text is the delta of EventTextDelta and EventReasoningDelta, the
	// error of EventRetry and the answer of EventDone.
	Text string
	// Call is the tool call of EventToolStart and EventToolEnd.
	Call *llm.ToolCall
	// Result is the answer of EventToolEnd.
	Result *llm.ToolResult
	// Delay is how long EventRetry waits before the next attempt.
	Delay time.Duration
}
