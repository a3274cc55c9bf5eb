package remote

import (
	"context"
	"errors"
	"testing"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
)

const anthropicModels = `{"data":[{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"},{"type":"model","id":"claude-haiku-4-5-20251001","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-haiku-4-5-20251001"}`

// TestAnthropicRecordedStream replays a stream in the Messages API's
// documented shape — thinking with its signature, text, a tool use whose
// input comes in input_json_delta pieces, a ping, usage in message_start
// and message_delta — through the driver.
func TestAnthropicRecordedStream(t *testing.T) {
	srv := newFake(t, anthropicModels, answer{file: testdata("anthropic_thinking_tool.sse")})
	t.Setenv("TETHER_TEST_ANTHROPIC_KEY", "sk-ant-test")
	d, err := DialAnthropic(context.Background(), AnthropicOptions{
		Options: Options{Endpoint: srv.URL, APIKeyEnv: "TETHER_TEST_ANTHROPIC_KEY", Model: "claude-sonnet-4-5-20250929", ContextWindow: 200000},
	})
	if err != nil {
		t.Fatal(err)
	}
	info := d.Info()
	if info.Model != "claude-sonnet-4-5-20250929" || info.Backend != "anthropic" || info.ContextWindow != 200000 || info.Privacy != llm.Sovereign {
		t.Errorf("info %+v", info)
	}
	var starts, ends []llm.ToolCall
	var text, reasoning string
	var resp *llm.Response
	var evs []llm.Event
	for ev, err := range d.Stream(context.Background(), hi()) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		switch ev.Kind {
		case llm.EventTextDelta:
			text += ev.Text
		case llm.EventReasoningDelta:
			reasoning += ev.Text
		case llm.EventToolCallStart:
			starts = append(starts, *ev.ToolCall)
		case llm.EventToolCallEnd:
			ends = append(ends, *ev.ToolCall)
		case llm.EventDone:
			resp = ev.Response
		}
	}
	if resp == nil {
		t.Fatal("no final event")
	}
	if _, err := llmtest.CheckStream(llmtest.Replay(evs)); err != nil {
		t.Fatal(err)
	}
	if text != "Let me check." || reasoning != "The user wants the weather." || resp.Text != text || resp.Reasoning != reasoning {
		t.Errorf("text %q reasoning %q; response %s", text, reasoning, resp)
	}
	if len(starts) != 1 || len(ends) != 1 || len(resp.ToolCalls) != 1 {
		t.Fatalf("calls: starts %+v ends %+v response %+v", starts, ends, resp.ToolCalls)
	}
	call := resp.ToolCalls[0]
	if call.ID != "toolu_01T1x1fJ34qAmk2tNTrN7Up6" || call.Name != "get_weather" || string(call.Input) != `{"location":"San Francisco, CA"}` {
		t.Errorf("call %+v input %s", call, call.Input)
	}
	if resp.StopReason != llm.StopToolUse || resp.Usage != (llm.Usage{InputTokens: 472, OutputTokens: 89}) {
		t.Errorf("stop %s usage %+v", resp.StopReason, resp.Usage)
	}
	h := srv.lastHeader()
	if h.Get("X-Api-Key") != "sk-ant-test" || h.Get("Anthropic-Version") == "" || h.Get("Authorization") != "" {
		t.Errorf("headers %v", h)
	}
}

func TestAnthropicRecordedMessage(t *testing.T) {
	srv := newFake(t, anthropicModels, answer{file: testdata("anthropic_message.json")})
	d, err := DialAnthropic(context.Background(), AnthropicOptions{Options: Options{Endpoint: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Info().Model != "claude-sonnet-4-5-20250929" {
		t.Errorf("the first listed model is not taken: %+v", d.Info())
	}
	r, err := d.Complete(context.Background(), hi())
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "Hi there." || r.Reasoning != "Simple greeting." || r.StopReason != llm.StopEndTurn || r.Usage != (llm.Usage{InputTokens: 16, OutputTokens: 6}) {
		t.Errorf("response %s usage %+v", r, r.Usage)
	}
}

func TestAnthropicModelNotFound(t *testing.T) {
	srv := newFake(t, anthropicModels, answer{body: "{}"})
	_, err := DialAnthropic(context.Background(), AnthropicOptions{Options: Options{Endpoint: srv.URL, Model: "claude-2"}})
	var mnf *llm.ModelNotFoundError
	if !errors.As(err, &mnf) || len(mnf.Available) != 2 {
		t.Fatalf("err %v", err)
	}
	d, err := DialAnthropic(context.Background(), AnthropicOptions{Options: Options{Endpoint: srv.URL, Model: "claude-2", SkipModelCheck: true}})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := d.Models(context.Background()); err != nil || len(ids) != 2 || ids[1] != "claude-haiku-4-5-20251001" {
		t.Errorf("Models: %v %v", ids, err)
	}
}

// TestAnthropicOverloaded checks the 529 retried after its Retry-After,
// and an error event after text: the text reaches the caller, then an
// InterruptedError around the overload, and nothing is sent again.
func TestAnthropicOverloaded(t *testing.T) {
	srv := newFake(t, anthropicModels,
		answer{status: 529, header: map[string]string{"Retry-After": "4"}, body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		answer{file: testdata("anthropic_thinking_tool.sse")})
	var w waits
	d, err := DialAnthropic(context.Background(), AnthropicOptions{Options: Options{Endpoint: srv.URL, Retry: Retry{Attempts: 3, Sleep: w.sleep}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := collect(d, context.Background(), hi()); c.err != nil || c.resp == nil || srv.chatCount() != 2 || len(w.got()) != 1 || w.got()[0] < 4e9 {
		t.Fatalf("after a 529: err %v, %d requests, waits %v", c.err, srv.chatCount(), w.got())
	}

	mid := newFake(t, anthropicModels, answer{file: testdata("anthropic_overloaded_midstream.sse")})
	d, err = DialAnthropic(context.Background(), AnthropicOptions{Options: Options{Endpoint: mid.URL, Retry: Retry{Attempts: 3, Sleep: w.sleep}}})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(d, context.Background(), hi())
	var ie *llm.InterruptedError
	var rl *llm.RateLimitedError
	if c.text != "Once upon" || !errors.As(c.err, &ie) || !errors.As(c.err, &rl) || !rl.Overloaded || llm.Retryable(c.err) || mid.chatCount() != 1 {
		t.Fatalf("error event mid-stream: text %q err %v, %d requests", c.text, c.err, mid.chatCount())
	}
}
