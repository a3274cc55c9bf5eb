package openai

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/sse"
	"github.com/tetherllm/tether/llm"

	"github.com/tetherllm/tether/internal/oaiwire"
)

// Streamed argument fragments merge to the same calls however they are
// cut and however the calls' fragments interleave.
func FuzzCallDeltas(f *testing.F) {
	f.Add(`{"path":"a.txt"}`, ``, `{"x": [1, 2, "}"]}`, uint64(1))
	f.Add(`{"a":"\"quoted\""}`, `"{\"b\":1}"`, `not json`, uint64(2))
	f.Fuzz(func(t *testing.T, a, b, c string, seed uint64) {
		args := []string{a, b, c}
		r := rand.New(rand.NewPCG(seed, 3))
		whole := callAccumulator{}
		for i, s := range args {
			whole.add(delta(i, "id"+string(rune('a'+i)), "tool", s))
		}
		want, wantErr := whole.finish()

		var frags []*oaiwire.ToolCall
		pending := make([][]string, len(args))
		for i, s := range args {
			pending[i] = split(r, s)
		}
		first := make([]bool, len(args))
		for left := true; left; {
			left = false
			for i := range args {
				if !first[i] || (len(pending[i]) > 0 && r.IntN(2) == 0) {
					var piece string
					if len(pending[i]) > 0 {
						piece, pending[i] = pending[i][0], pending[i][1:]
					}
					if first[i] {
						frags = append(frags, delta(i, "", "", piece))
					} else {
						frags = append(frags, delta(i, "id"+string(rune('a'+i)), "tool", piece))
						first[i] = true
					}
				}
				if len(pending[i]) > 0 {
					left = true
				}
			}
		}
		var acc callAccumulator
		for _, d := range frags {
			acc.add(d)
		}
		got, gotErr := acc.finish()
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("errors differ: %v / %v", wantErr, gotErr)
		}
		if len(got) != len(want) {
			t.Fatalf("got %d calls, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || string(got[i].Input) != string(want[i].Input) {
				t.Fatalf("call %d: %+v, want %+v", i, got[i], want[i])
			}
			if !json.Valid(got[i].Input) {
				t.Fatalf("call %d input is not JSON: %s", i, got[i].Input)
			}
		}
	})
}

func delta(index int, id, name, args string) *oaiwire.ToolCall {
	return &oaiwire.ToolCall{Index: &index, ID: id, Function: oaiwire.Function{Name: name, Arguments: oaiwire.Arguments{Text: args}}}
}

func split(r *rand.Rand, s string) []string {
	var out []string
	for s != "" {
		n := 1 + r.IntN(len(s))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// Any stream body is handled without a panic, and when its content has no
// thinking, the text deltas add up to the final text.
func FuzzStreamBody(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi <tool_call>{\\\"name\\\":\\\"a\\\"}\"}}]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"x\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
		"data: {\"error\":{\"code\":\"x\"}}\n\n", "event: error\ndata: oops\n\n",
		"data: {broken\n\ndata: [DONE]\n\n", "data:\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"r\",\"content\":[{\"type\":\"text\",\"text\":\"t\"}]},\"finish_reason\":\"stop\"}],\"timings\":{\"prompt_n\":1}}\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := New(Options{BaseURL: "http://127.0.0.1:1", ToolMode: ToolsText})
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		tr := newTurn(c, llm.Request{}, time.Now(), func(ev llm.Event) bool {
			if ev.Kind == llm.EventTextDelta {
				text.WriteString(ev.Text)
			}
			return true
		})
		events := sse.NewReader(strings.NewReader(body))
		var content strings.Builder
		for {
			ev, err := events.Next()
			if err != nil {
				break
			}
			if done, err := c.handleEvent(ev, tr); done || err != nil {
				break
			}
		}
		content.WriteString(tr.content.String())
		resp, err := tr.done()
		if err != nil {
			return
		}
		if !strings.Contains(content.String(), "think>") && text.String() != resp.Text {
			t.Fatalf("deltas %q, final text %q", text.String(), resp.Text)
		}
	})
}
