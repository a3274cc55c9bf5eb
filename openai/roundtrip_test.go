package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/think"
	"github.com/tetherllm/tether/toolcall"
)

// FuzzRoundTrip encodes an answer as tether serve does (package
// oaiwire's encoders, whole and as a stream of chunks) and decodes it
// with the client: the client's answer is the server's.
func FuzzRoundTrip(f *testing.F) {
	f.Add("Hello there.", "", "", "", uint8(0), false, uint16(12), uint16(5), 3.5, 20.25, uint8(3))
	f.Add("", "Let me think.", "get_weather", `{"city":"Paris"}`, uint8(1), false, uint16(40), uint16(9), 1.0, 2.0, uint8(1))
	f.Add("Calling two.", "plan", "glob", `{"pattern": "*.go", "n": [1, 2.5e3, null, true]}`, uint8(2), false, uint16(7), uint16(3), 0.0, 0.0, uint8(7))
	f.Add("cut off mid-sent", "", "", "", uint8(0), true, uint16(100), uint16(64), 12.0, 640.0, uint8(4))
	f.Add("ünïcødé 🚀 \"quotes\" \\ back\nslash", "  spaced  ", "t", "not json", uint8(1), false, uint16(1), uint16(1), 0.001, 1e9, uint8(2))
	f.Fuzz(func(t *testing.T, text, reasoning, name, args string, calls uint8, cut bool, in, out uint16, promptMS, genMS float64, pieces uint8) {
		want, ok := fuzzResponse(text, reasoning, name, args, int(calls%4), cut, int(in), int(out), promptMS, genMS)
		if !ok {
			t.Skip()
		}
		c, err := New(Options{BaseURL: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := llm.Request{Messages: []llm.Message{llm.UserMessage("x")}}

		whole, err := json.Marshal(oaiwire.ChatCompletion{
			ID: "chatcmpl-1", Object: "chat.completion", Created: 1, Model: "m",
			Choices: []oaiwire.Choice{{Message: oaiwire.MessageOf(want), FinishReason: ptrTo(oaiwire.FinishReason(want.StopReason))}},
			Usage:   oaiwire.UsageOf(want), Timings: oaiwire.TimingsOf(want),
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.readAnswer(whole, newTurn(c, req, time.Now(), nil))
		if err != nil {
			t.Fatalf("whole answer: %v\n%s", err, whole)
		}
		sameResponse(t, "whole", got, want)

		stream := encodeStream(t, want, int(pieces%8)+1)
		var deltas strings.Builder
		var events []llm.Event
		turn := newTurn(c, req, time.Now(), func(ev llm.Event) bool {
			events = append(events, ev)
			if ev.Kind == llm.EventTextDelta {
				deltas.WriteString(ev.Text)
			}
			return true
		})
		got, err = c.readStream(context.Background(), context.Background(), bytes.NewReader(stream), turn)
		if err != nil {
			t.Fatalf("stream: %v\n%s", err, stream)
		}
		sameResponse(t, "streamed", got, want)
		if deltas.String() != want.Text {
			t.Errorf("streamed text deltas %q, want %q", deltas.String(), want.Text)
		}
		if n := len(events); n == 0 || events[n-1].Kind != llm.EventDone {
			t.Errorf("the stream's events do not end with EventDone: %v", events)
		}
	})
}

// fuzzResponse builds the answer a server could send; ok is false for
// text that the client reads differently on purpose (reasoning or tool
// calls written in the text, which it parses out of any server's
// content).
func fuzzResponse(text, reasoning, name, args string, calls int, cut bool, in, out int, promptMS, genMS float64) (*llm.Response, bool) {
	if !utf8.ValidString(text) || !utf8.ValidString(reasoning) || !utf8.ValidString(name) {
		return nil, false
	}
	if rest, inline := think.Split(text); rest != text || inline != "" {
		return nil, false
	}
	if rest, found := toolcall.Parse(text, nil); rest != text || len(found) > 0 {
		return nil, false
	}
	for _, v := range []float64{promptMS, genMS} {
		if v < 0 || v > 1e12 || v != v {
			return nil, false
		}
	}
	// The client keeps reasoning without its surrounding blank space.
	reasoning = strings.TrimSpace(reasoning)
	r := &llm.Response{
		Text: text, Reasoning: reasoning, StopReason: llm.StopEndTurn,
		Usage:   llm.Usage{InputTokens: in, OutputTokens: out},
		Timings: llm.Timings{PromptTokens: in / 2, PromptMS: promptMS, GeneratedTokens: out, GenerationMS: genMS},
	}
	if cut {
		r.StopReason = llm.StopMaxTokens
	}
	if name = strings.TrimSpace(name); name == "" {
		name = "tool"
	}
	input := json.RawMessage(args)
	var b bytes.Buffer
	if json.Compact(&b, input) != nil || !bytes.HasPrefix(b.Bytes(), []byte("{")) {
		input, _ = json.Marshal(map[string]string{"value": args})
		b.Reset()
		json.Compact(&b, input)
	}
	// The arguments travel as a JSON string, which carries no invalid
	// UTF-8: the encoder replaces each bad byte with U+FFFD, and the
	// client sees what the wire carried.
	var wire string
	quoted, _ := json.Marshal(b.String())
	json.Unmarshal(quoted, &wire)
	for i := range calls {
		r.ToolCalls = append(r.ToolCalls, llm.ToolCall{ID: fmt.Sprintf("call_%d", i), Name: name, Input: json.RawMessage(wire)})
	}
	if calls > 0 {
		r.StopReason = llm.StopToolUse
	}
	return r, true
}

// encodeStream is r as tether serve streams it: the role chunk, the
// reasoning and text in pieces, each call as two deltas, the last chunk
// with finish_reason and timings, the usage chunk, and [DONE].
func encodeStream(t *testing.T, r *llm.Response, pieces int) []byte {
	t.Helper()
	var out bytes.Buffer
	write := func(delta *oaiwire.Delta, finish *string, usage *oaiwire.Usage, timings *oaiwire.Timings) {
		chunk := oaiwire.ChatCompletion{ID: "chatcmpl-1", Object: "chat.completion.chunk", Created: 1, Model: "m", Usage: usage, Timings: timings}
		if delta != nil {
			chunk.Choices = []oaiwire.Choice{{Delta: delta, FinishReason: finish}}
		} else {
			chunk.Choices = []oaiwire.Choice{}
		}
		b, err := json.Marshal(chunk)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "data: %s\n\n", b)
	}
	var d oaiwire.Deltas
	write(d.First(), nil, nil, nil)
	var events []llm.Event
	for _, p := range splitText(r.Reasoning, pieces) {
		events = append(events, llm.Event{Kind: llm.EventReasoningDelta, Text: p})
	}
	for _, p := range splitText(r.Text, pieces) {
		events = append(events, llm.Event{Kind: llm.EventTextDelta, Text: p})
	}
	for i := range r.ToolCalls {
		c := r.ToolCalls[i]
		events = append(events, llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: c.ID, Name: c.Name}},
			llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c})
	}
	for _, ev := range events {
		if delta, ok := d.Of(ev); ok {
			write(delta, nil, nil, nil)
		}
	}
	write(&oaiwire.Delta{}, ptrTo(oaiwire.FinishReason(r.StopReason)), nil, oaiwire.TimingsOf(r))
	write(nil, nil, oaiwire.UsageOf(r), nil)
	out.WriteString("data: [DONE]\n\n")
	return out.Bytes()
}

// splitText cuts s into about n pieces on rune boundaries.
func splitText(s string, n int) []string {
	var out []string
	size := max(len(s)/n, 1)
	for s != "" {
		cut := min(size, len(s))
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

func sameResponse(t *testing.T, how string, got, want *llm.Response) {
	t.Helper()
	if got.Text != want.Text || got.Reasoning != want.Reasoning || got.StopReason != want.StopReason || got.Usage != want.Usage || got.Timings != want.Timings {
		t.Errorf("%s: got %+v\nwant %+v", how, *got, *want)
	}
	if len(got.ToolCalls) != len(want.ToolCalls) {
		t.Fatalf("%s: %d calls, want %d", how, len(got.ToolCalls), len(want.ToolCalls))
	}
	for i, c := range got.ToolCalls {
		w := want.ToolCalls[i]
		if c.ID != w.ID || c.Name != w.Name || string(c.Input) != string(w.Input) {
			t.Errorf("%s: call %d %+v, want %+v", how, i, c, w)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
