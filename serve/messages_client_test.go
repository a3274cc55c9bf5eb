package serve

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
)

func anthropicClient(t *testing.T, ts *testServer, key string) *anthropic.Client {
	t.Helper()
	c, err := anthropic.New(anthropic.Options{BaseURL: ts.url, APIKey: key, Model: ts.ID()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// both runs req complete and streamed and checks that the two answers
// agree; it returns the complete one and the streamed events.
func both(t *testing.T, c *anthropic.Client, req llm.Request) (*llm.Response, []llm.Event) {
	t.Helper()
	whole, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	var events []llm.Event
	for ev, err := range c.Stream(context.Background(), req) {
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		events = append(events, ev)
	}
	if len(events) == 0 || events[len(events)-1].Kind != llm.EventDone {
		t.Fatalf("stream without EventDone: %v", events)
	}
	streamed := events[len(events)-1].Response
	if streamed.Text != whole.Text || streamed.Reasoning != whole.Reasoning || streamed.StopReason != whole.StopReason ||
		streamed.Usage != whole.Usage || len(streamed.ToolCalls) != len(whole.ToolCalls) {
		t.Errorf("streamed %s %+v\ncomplete %s %+v", streamed, streamed.Usage, whole, whole.Usage)
	}
	return whole, events
}

// sameAnswer compares what the server's driver produced with what the
// client decoded: the same text, reasoning, calls (by name and input;
// each generation has its own ids, which the server writes in
// Anthropic's form), stop reason and usage.
func sameAnswer(t *testing.T, want, got *llm.Response) {
	t.Helper()
	ok := want.Text == got.Text && want.Reasoning == got.Reasoning && want.StopReason == got.StopReason && want.Usage == got.Usage &&
		len(want.ToolCalls) == len(got.ToolCalls)
	for i := 0; ok && i < len(want.ToolCalls); i++ {
		w, g := want.ToolCalls[i], got.ToolCalls[i]
		ok = w.Name == g.Name && string(w.Input) == string(g.Input) && strings.HasPrefix(g.ID, "toolu_")
	}
	if !ok {
		t.Errorf("server's answer %s %+v\nclient's answer %s %+v", want, want.Usage, got, got.Usage)
	}
}

// TestAnthropicClient drives the server with tether's own Messages API
// client: the answers it decodes are the ones the server's driver
// produced (a round trip through the wire), complete and streamed, with
// tools, reasoning, count_tokens and typed errors.
func TestAnthropicClient(t *testing.T) {
	ctx := context.Background()
	t.Run("text", func(t *testing.T) {
		ts := startServer(t, Config{APIKey: "k"})
		c := anthropicClient(t, ts, "k")
		req := llm.Request{System: "You are terse.", Messages: []llm.Message{llm.UserMessage("hello there, tell me the weather")}, MaxTokens: 8, Temperature: llm.Ptr(0.0)}
		got, events := both(t, c, req)
		want, err := ts.model.Load().drv.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		sameAnswer(t, want, got)
		var text strings.Builder
		for _, ev := range events {
			if ev.Kind == llm.EventTextDelta {
				text.WriteString(ev.Text)
			}
		}
		if text.String() != got.Text || got.Timings.GeneratedTokens != 8 {
			t.Errorf("deltas %q, text %q, timings %+v", text.String(), got.Text, got.Timings)
		}
		n, err := c.CountTokens(ctx, req)
		if err != nil || n != got.Usage.InputTokens {
			t.Errorf("CountTokens %d %v, usage %+v", n, err, got.Usage)
		}

		// Errors come back typed.
		bad := anthropicClient(t, ts, "wrong")
		var he *llm.HTTPError
		if _, err := bad.Complete(ctx, req); !errors.As(err, &he) || he.StatusCode != 401 {
			t.Errorf("wrong key: %v", err)
		}
		long := req
		long.Messages = []llm.Message{llm.UserMessage(strings.Repeat("word ", 2000))}
		var ov *llm.ContextOverflowError
		if _, err := c.Complete(ctx, long); !errors.As(err, &ov) || ov.Available != 512 || ov.Required <= 512 {
			t.Errorf("overflow: %v", err)
		}
		filling := req
		filling.Messages, filling.MaxTokens = []llm.Message{llm.UserMessage(strings.Repeat("word ", 95))}, 400
		if full, err := c.Complete(ctx, filling); err != nil || full.StopReason != llm.StopContextWindow || full.Text == "" || full.Usage.Total() != 513 {
			t.Errorf("answer filling the context: %v %v", full, err)
		}
		seeded := req
		seeded.Seed = llm.Ptr[int64](1)
		var re *llm.RequestError
		if _, err := c.Complete(ctx, seeded); !errors.As(err, &re) || !strings.Contains(re.Reason, "seed") {
			t.Errorf("seed: %v", err)
		}
		stopped := req
		stopped.Stop = []string{got.Text[3:5]}
		if cut, err := c.Complete(ctx, stopped); err != nil || cut.StopReason != llm.StopStopSequence {
			t.Errorf("stop sequence: %v %v", cut, err)
		}
	})
	t.Run("tools", func(t *testing.T) {
		ts := startServer(t, Config{Model: synthModel(t, synth.ArchQwen2, true), Engine: engineCtx(2048)})
		c := anthropicClient(t, ts, "")
		tool := llm.ToolDef{Name: synth.ToolName, InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
		req := llm.Request{Messages: []llm.Message{llm.UserMessage("weather in Paris?")}, Tools: []llm.ToolDef{tool}, Temperature: llm.Ptr(0.0), MaxTokens: 64}
		for turn := range 2 {
			got, events := both(t, c, req)
			want, err := ts.model.Load().drv.Complete(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			sameAnswer(t, want, got)
			if got.StopReason != llm.StopToolUse || len(got.ToolCalls) != 1 || !sameJSON(string(got.ToolCalls[0].Input), synth.ToolArguments) {
				t.Fatalf("turn %d: %s", turn, got)
			}
			var starts, ends int
			for _, ev := range events {
				switch ev.Kind {
				case llm.EventToolCallStart:
					starts++
				case llm.EventToolCallEnd:
					ends++
				}
			}
			if starts != 1 || ends != 1 {
				t.Errorf("turn %d: %d starts, %d ends", turn, starts, ends)
			}
			call := got.ToolCalls[0]
			req.Messages = append(req.Messages, llm.ToolUseMessage(call), llm.ToolResultMessage(llm.ToolResult{ToolUseID: call.ID, Name: call.Name, Content: "18C, clear"}))
		}
		// The server's driver sees the same conversation the client sent.
		n, err := c.CountTokens(ctx, req)
		turn, perr := ts.model.Load().drv.Prepare(embedded.Call{Request: req, EnableThinking: llm.Ptr(false)})
		if err != nil || perr != nil || n != turn.PromptTokens() {
			t.Errorf("CountTokens %d %v, driver %v %v", n, err, turn, perr)
		}
	})
	t.Run("reasoning", func(t *testing.T) {
		ts := startServer(t, Config{Model: sharedModel(t, "qwq")})
		c := anthropicClient(t, ts, "")
		req := llm.Request{Messages: []llm.Message{llm.UserMessage("hello there, tell me the weather")}, MaxTokens: 8, Temperature: llm.Ptr(0.0)}
		got, _ := both(t, c, req)
		resp, err := llm.CompleteFromStream(ts.model.Load().drv.StreamCall(ctx, embedded.Call{Request: req, EnableThinking: llm.Ptr(false)}))
		if err != nil {
			t.Fatal(err)
		}
		sameAnswer(t, resp, got)
		if got.Reasoning == "" {
			t.Errorf("no reasoning: %s", got)
		}
	})
}
