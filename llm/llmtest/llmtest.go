// Package llmtest checks that a driver keeps the [llm.Driver] contract,
// for the tests of drivers inside and outside tether.
package llmtest

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// CheckStream runs a stream to its end and checks the events against the
// contract: every tool call that starts ends, with the same ID and name
// (calls may overlap, as parallel calls do on OpenAI's wire);
// exactly one EventDone comes last and carries the Response; and the
// deltas agree with that Response — the text deltas joined are its Text,
// the reasoning deltas joined are its Reasoning, and the ended calls are
// its ToolCalls, in order. It returns the final Response, and the
// stream's own error if it failed (the contract's checks then stop at
// the failure).
func CheckStream(stream iter.Seq2[llm.Event, error]) (*llm.Response, error) {
	var (
		text, reasoning strings.Builder
		calls           []llm.ToolCall
		open            = map[string]string{} // started calls: id → name
		final           *llm.Response
		problems        []string
	)
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for ev, err := range stream {
		if err != nil {
			return nil, err
		}
		if final != nil {
			fail("event %s after done", ev.Kind)
			continue
		}
		switch ev.Kind {
		case llm.EventTextDelta:
			text.WriteString(ev.Text)
		case llm.EventReasoningDelta:
			reasoning.WriteString(ev.Text)
		case llm.EventToolCallStart:
			if ev.ToolCall == nil {
				fail("tool call start without a call")
				continue
			}
			if _, dup := open[ev.ToolCall.ID]; dup {
				fail("tool call %s starts twice", ev.ToolCall.ID)
			}
			open[ev.ToolCall.ID] = ev.ToolCall.Name
		case llm.EventToolCallEnd:
			if ev.ToolCall == nil {
				fail("tool call end without a call")
				continue
			}
			name, started := open[ev.ToolCall.ID]
			switch {
			case !started:
				fail("tool call %s %s ends without a start", ev.ToolCall.ID, ev.ToolCall.Name)
			case name != ev.ToolCall.Name:
				fail("tool call %s started as %s, ended as %s", ev.ToolCall.ID, name, ev.ToolCall.Name)
			}
			delete(open, ev.ToolCall.ID)
			calls = append(calls, *ev.ToolCall)
		case llm.EventDone:
			if ev.Response == nil {
				fail("done without a response")
				continue
			}
			final = ev.Response
		case llm.EventLogprobs:
		default:
			fail("unknown event kind %d", ev.Kind)
		}
	}
	if final == nil {
		problems = append(problems, "the stream ended without a done event")
		return nil, errors.New("llmtest: " + strings.Join(problems, "; "))
	}
	for id, name := range open {
		fail("tool call %s %s never ends", id, name)
	}
	if got := text.String(); got != final.Text {
		fail("text deltas say %q, the response %q", got, final.Text)
	}
	if got := reasoning.String(); got != final.Reasoning {
		fail("reasoning deltas say %q, the response %q", got, final.Reasoning)
	}
	if !sameCalls(calls, final.ToolCalls) {
		fail("tool call events %v, the response %v", calls, final.ToolCalls)
	}
	if len(problems) > 0 {
		return final, errors.New("llmtest: " + strings.Join(problems, "; "))
	}
	return final, nil
}

func sameCalls(a, b []llm.ToolCall) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || !bytes.Equal(a[i].Input, b[i].Input) {
			return false
		}
	}
	return true
}

// Replay yields recorded events as a stream, to check them after the fact.
func Replay(events []llm.Event) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		for _, ev := range events {
			if !yield(ev, nil) {
				return
			}
		}
	}
}
