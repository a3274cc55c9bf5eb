package anthropic

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// generation turns fuzz bytes into the events of a generation: text and
// reasoning deltas, tool calls, and EventDone with its response.
func generation(data []byte) []llm.Event {
	var events []llm.Event
	var text, reasoning strings.Builder
	var calls []llm.ToolCall
	piece := func(i int) string {
		n := min(int(data[i]%7)+1, len(data)-i-1)
		return strings.ToValidUTF8(string(data[i+1:i+1+n]), "?")
	}
	for i := 0; i+1 < len(data); i += 2 {
		s := piece(i)
		switch data[i] % 4 {
		case 0, 1:
			if s == "" {
				continue
			}
			text.WriteString(s)
			events = append(events, llm.Event{Kind: llm.EventTextDelta, Text: s})
		case 2:
			if s == "" {
				continue
			}
			reasoning.WriteString(s)
			events = append(events, llm.Event{Kind: llm.EventReasoningDelta, Text: s})
		case 3:
			input, _ := json.Marshal(map[string]any{"arg": s, "n": len(calls)})
			c := llm.ToolCall{ID: fmt.Sprintf("toolu_%d", len(calls)), Name: "tool" + fmt.Sprint(data[i+1]%3), Input: input}
			calls = append(calls, c)
			events = append(events, llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: c.ID, Name: c.Name}},
				llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c})
		}
	}
	resp := &llm.Response{Text: text.String(), Reasoning: reasoning.String(), ToolCalls: calls,
		StopReason: []llm.StopReason{llm.StopEndTurn, llm.StopMaxTokens, llm.StopStopSequence}[len(data)%3],
		Usage:      llm.Usage{InputTokens: len(data) + 3, OutputTokens: len(events) + 1}}
	if len(calls) > 0 {
		resp.StopReason = llm.StopToolUse
	}
	return append(events, llm.Event{Kind: llm.EventDone, Response: resp})
}

// wireTrip sends v through JSON, as the wire does.
func wireTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %+v: %v", v, err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return out
}

// checkAnswer compares a decoded response with the generation's.
func checkAnswer(t *testing.T, want, got *llm.Response) {
	t.Helper()
	if got == nil {
		t.Fatal("no response")
	}
	if got.Text != want.Text || got.Reasoning != want.Reasoning || got.StopReason != want.StopReason || got.Usage != want.Usage ||
		!reflect.DeepEqual(got.ToolCalls, want.ToolCalls) {
		t.Fatalf("decoded %s %+v\nwant    %s %+v", got, got.Usage, want, want.Usage)
	}
}

// FuzzRoundTrip encodes a generation as tether serve does, sends it
// through JSON as a stream and as a complete answer, and decodes it as
// the client does: the answer is the same, and the streamed events are
// the generation's own.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello world"))
	f.Add([]byte{2, 'a', 'b', 2, 'c', 0, 'x', 'y', 3, 1, 0, 'z'})
	f.Add([]byte{3, 0, 3, 1, 1, 'q'})
	f.Add([]byte("\x02thinking first\x00then text\x03\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		events := generation(data)
		want := events[len(events)-1].Response
		stops := []string{"STOP"}

		enc := NewEncoder("msg_x", "m", want.Usage.InputTokens, stops)
		wire := []StreamEvent{wireTrip(t, enc.Start())}
		for _, ev := range events {
			for _, se := range enc.Add(ev) {
				wire = append(wire, wireTrip(t, se))
			}
		}
		var got []llm.Event
		d := NewDecoder(func(ev llm.Event) bool { got = append(got, ev); return true }, nil)
		for _, se := range wire {
			if err := d.Add(se); err != nil {
				t.Fatalf("decode stream: %v", err)
			}
		}
		if !d.Done() {
			t.Fatal("stream not done")
		}
		checkAnswer(t, want, d.Response())
		if len(got) != len(events) {
			t.Fatalf("%d events decoded, %d generated", len(got), len(events))
		}
		for i := range events[:len(events)-1] {
			if !reflect.DeepEqual(got[i], events[i]) {
				t.Fatalf("event %d: %+v, want %+v", i, got[i], events[i])
			}
		}

		// The complete answer decodes to the same.
		resp := wireTrip(t, *enc.Response())
		if want.StopReason == llm.StopStopSequence && (resp.StopSequence == nil || *resp.StopSequence != "STOP") {
			t.Errorf("stop_sequence %v", resp.StopSequence)
		}
		for _, b := range resp.Content {
			if b.Type == BlockThinking && b.Signature != Signature(b.Thinking) {
				t.Errorf("thinking block %+v", b)
			}
		}
		d2 := NewDecoder(nil, nil)
		for _, se := range resp.Events() {
			if err := d2.Add(se); err != nil {
				t.Fatalf("decode answer: %v", err)
			}
		}
		checkAnswer(t, want, d2.Response())
	})
}

// FuzzRequest reads arbitrary bodies as requests: decoding never panics,
// refusals are *FieldError, and an accepted request written out again
// reads back the same.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","max_tokens":5,"system":"s","messages":[{"role":"user","content":"hi"}]}`,
		`{"max_tokens":5,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{}}]}]}`,
		`{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok","is_error":true}]}]}`,
		`{"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},"thinking":{"type":"enabled","budget_tokens":10}}`,
		`{"messages":[{"role":"user","content":5}]}`, `{"max_tokens":"x"}`, `[]`, `{"stream":true,"metadata":{"user_id":"u"},"extra":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		_ = r.CheckExtra()
		if _, _, err := r.Conversation(); err == nil {
			if r.CheckExtra() == nil {
				again := wireTrip(t, r)
				a, _ := json.Marshal(r)
				b, _ := json.Marshal(again)
				if string(a) != string(b) {
					t.Fatalf("written %s\nread back and written %s", a, b)
				}
			}
		} else if _, ok := err.(*FieldError); !ok {
			t.Fatalf("conversation error %T %v", err, err)
		}
	})
}
