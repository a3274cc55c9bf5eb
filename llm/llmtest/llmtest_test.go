package llmtest

import (
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func events(evs ...llm.Event) iter.Seq2[llm.Event, error] { return Replay(evs) }

func TestCheckStream(t *testing.T) {
	call := llm.ToolCall{ID: "1", Name: "f", Input: json.RawMessage(`{}`)}
	good := []llm.Event{
		{Kind: llm.EventReasoningDelta, Text: "hm"},
		{Kind: llm.EventTextDelta, Text: "a"},
		{Kind: llm.EventTextDelta, Text: "b"},
		{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: "1", Name: "f"}},
		{Kind: llm.EventToolCallEnd, ToolCall: &call},
		{Kind: llm.EventDone, Response: &llm.Response{Text: "ab", Reasoning: "hm", ToolCalls: []llm.ToolCall{call}}},
	}
	if _, err := CheckStream(events(good...)); err != nil {
		t.Fatalf("a good stream: %v", err)
	}
	done := func(r llm.Response) llm.Event { return llm.Event{Kind: llm.EventDone, Response: &r} }
	for name, tc := range map[string]struct {
		evs  []llm.Event
		want string
	}{
		"text differs":   {[]llm.Event{{Kind: llm.EventTextDelta, Text: "a"}, done(llm.Response{Text: "ab"})}, "text deltas"},
		"reasoning lost": {[]llm.Event{{Kind: llm.EventReasoningDelta, Text: "r"}, done(llm.Response{})}, "reasoning deltas"},
		"call missing":   {[]llm.Event{done(llm.Response{ToolCalls: []llm.ToolCall{call}})}, "tool call events"},
		"no done":        {[]llm.Event{{Kind: llm.EventTextDelta, Text: "a"}}, "without a done"},
		"after done":     {[]llm.Event{done(llm.Response{}), {Kind: llm.EventTextDelta, Text: "late"}}, "after done"},
		"end only":       {[]llm.Event{{Kind: llm.EventToolCallEnd, ToolCall: &call}, done(llm.Response{ToolCalls: []llm.ToolCall{call}})}, "without a start"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := CheckStream(events(tc.evs...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	boom := errors.New("boom")
	_, err := CheckStream(func(yield func(llm.Event, error) bool) { yield(llm.Event{}, boom) })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the stream's own", err)
	}
}
