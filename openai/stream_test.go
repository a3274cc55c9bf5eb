package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

type call struct{ id, name, input string }

func checkCalls(t *testing.T, what string, got []llm.ToolCall, want []call) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d calls %v, want %d", what, len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || string(g.Input) != w.input || (w.id != "" && g.ID != w.id) || g.ID == "" {
			t.Errorf("%s[%d] = {%s %s %s}, want {%s %s %s}", what, i, g.ID, g.Name, g.Input, w.id, w.name, w.input)
		}
	}
}

func TestStreamFixtures(t *testing.T) {
	tests := []struct {
		fixture   string
		opts      Options
		stop      []string
		text      string
		reasoning string
		calls     []call
		stopWhy   llm.StopReason
		usage     llm.Usage
		timings   llm.Timings // checked when non-zero
	}{
		{fixture: "llamacpp_reasoning_tool.sse", reasoning: "The user wants the Go files.",
			calls: []call{{"Xk2b9QnTz7", "glob", `{"pattern":"**/*.go"}`}}, stopWhy: llm.StopToolUse,
			usage:   llm.Usage{InputTokens: 120, OutputTokens: 25},
			timings: llm.Timings{PromptTokens: 20, PromptMS: 35.5, GeneratedTokens: 25, GenerationMS: 250}},
		{fixture: "llamacpp_inline_think.sse", text: "The answer is 4 — naïve ✓", reasoning: "Two plus two is four.",
			stopWhy: llm.StopEndTurn, usage: llm.Usage{InputTokens: 120, OutputTokens: 25},
			timings: llm.Timings{PromptTokens: 20, PromptMS: 35.5, GeneratedTokens: 25, GenerationMS: 250}},
		{fixture: "bare_closer.sse", opts: Options{ReasoningStartsOpen: true}, text: "4", reasoning: "Two plus two is four.", stopWhy: llm.StopEndTurn},
		// Without the flag the text already sent stays text, in the
		// deltas and in the stream's response alike.
		{fixture: "bare_closer.sse", text: "Two plus two is four.\n\n\n4", stopWhy: llm.StopEndTurn},
		{fixture: "vllm_reasoning_tool.sse", reasoning: "Need to read main.go first.",
			calls: []call{{"chatcmpl-tool-5b1c", "file_read", `{"path":"main.go"}`}}, stopWhy: llm.StopToolUse,
			usage: llm.Usage{InputTokens: 50, OutputTokens: 20}},
		{fixture: "vllm_stop_sequence.sse", stop: []string{"three"}, text: "one, two,", stopWhy: llm.StopStopSequence,
			usage: llm.Usage{InputTokens: 8, OutputTokens: 4}},
		{fixture: "ollama_reasoning_tools.sse", reasoning: "Let me look.",
			calls:   []call{{"call_k1", "glob", `{"pattern":"*.go"}`}, {"call_k2", "grep", `{"pattern":"TODO","path":"."}`}},
			stopWhy: llm.StopToolUse, usage: llm.Usage{InputTokens: 30, OutputTokens: 12}},
		{fixture: "ollama_no_index.sse", calls: []call{{"call_a", "glob", `{"pattern":"a"}`}, {"call_b", "glob", `{"pattern":"b"}`}},
			stopWhy: llm.StopToolUse},
		{fixture: "parallel_tools.sse", text: "Checking both.",
			calls: []call{{"call_1", "file_read", `{"path":"a.txt"}`}, {"call_2", "now", `{}`}}, stopWhy: llm.StopToolUse},
		{fixture: "text_tool_call.sse", opts: Options{ToolMode: ToolsText}, text: "Let me look.",
			calls: []call{{"", "glob", `{"pattern":"*.go"}`}}, stopWhy: llm.StopToolUse},
		// Native mode falls back to text calls when the server sent none.
		{fixture: "text_tool_call.sse", text: "Let me look.", calls: []call{{"", "glob", `{"pattern":"*.go"}`}}, stopWhy: llm.StopToolUse},
		{fixture: "call_in_reasoning.sse", opts: Options{ToolMode: ToolsText}, text: "Nothing to do.",
			reasoning: "Maybe <tool_call>{\"name\":\"shell\",\"input\":{\"command\":\"rm -rf /\"}}</tool_call>? No.also <tool_call>{\"name\":\"shell\",\"input\":{}}</tool_call>",
			stopWhy:   llm.StopEndTurn},
		{fixture: "crlf.sse", text: "Hello, world", stopWhy: llm.StopMaxTokens},
		{fixture: "cr.sse", text: "cr only", stopWhy: llm.StopEndTurn},
		{fixture: "no_done.sse", text: "done", stopWhy: llm.StopEndTurn, usage: llm.Usage{InputTokens: 3, OutputTokens: 1}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 1, 7, 64} {
			name := fmt.Sprintf("%s/mode=%s/open=%v/chunk=%d", tt.fixture, tt.opts.ToolMode, tt.opts.ReasoningStartsOpen, chunk)
			t.Run(name, func(t *testing.T) {
				srv := serveFixture(t, tt.fixture, chunk)
				c := newClient(t, srv.URL, tt.opts)
				req := simpleRequest()
				req.Stop = tt.stop
				r := collect(t, c, context.Background(), req)
				if r.err != nil {
					t.Fatal(r.err)
				}
				resp := r.resp
				if resp.Text != tt.text || resp.Reasoning != tt.reasoning {
					t.Errorf("response text %q reasoning %q, want %q %q", resp.Text, resp.Reasoning, tt.text, tt.reasoning)
				}
				wantDeltas := tt.text
				if r.text != wantDeltas {
					t.Errorf("text deltas %q, want %q", r.text, wantDeltas)
				}
				if strings.TrimSpace(r.reasoning) == "" && tt.reasoning != "" {
					t.Errorf("no reasoning deltas")
				}
				checkCalls(t, "response", resp.ToolCalls, tt.calls)
				checkCalls(t, "end events", r.ends, tt.calls)
				for i := range resp.ToolCalls {
					if r.ends[i].ID != resp.ToolCalls[i].ID {
						t.Errorf("event id %s, response id %s", r.ends[i].ID, resp.ToolCalls[i].ID)
					}
				}
				if resp.StopReason != tt.stopWhy {
					t.Errorf("stop reason %s, want %s", resp.StopReason, tt.stopWhy)
				}
				if resp.Usage != tt.usage {
					t.Errorf("usage %+v, want %+v", resp.Usage, tt.usage)
				}
				if tt.timings != (llm.Timings{}) && resp.Timings != tt.timings {
					t.Errorf("timings %+v, want %+v", resp.Timings, tt.timings)
				}
				if r.kinds[len(r.kinds)-1] != llm.EventDone {
					t.Errorf("last event %v", r.kinds[len(r.kinds)-1])
				}
				// The request asked for a stream with usage.
				body := srv.lastBody(t)
				if body["stream"] != true || fmt.Sprint(body["stream_options"]) != "map[include_usage:true]" {
					t.Errorf("request stream fields: %v %v", body["stream"], body["stream_options"])
				}
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestStreamErrors(t *testing.T) {
	tests := []struct {
		fixture string
		check   func(t *testing.T, err error)
	}{
		{"midstream_error.sse", func(t *testing.T, err error) {
			e := asError[*llm.HTTPError](t, err)
			if e.StatusCode != 500 || e.Message != "slot 0: decode failed" {
				t.Errorf("got %+v", e)
			}
		}},
		{"midstream_overflow.sse", func(t *testing.T, err error) {
			e := asError[*llm.ContextOverflowError](t, err)
			if e.Available != 4096 || e.Required != 5000 {
				t.Errorf("got %+v", e)
			}
		}},
		{"truncated.sse", func(t *testing.T, err error) {
			e := asError[*llm.TransportError](t, err)
			if !llm.Retryable(e) || !strings.Contains(e.Error(), "no [DONE]") {
				t.Errorf("got %v", e)
			}
		}},
		{"bad_arguments.sse", func(t *testing.T, err error) {
			e := asError[*llm.ProtocolError](t, err)
			if !strings.Contains(e.Error(), `"file_write"`) {
				t.Errorf("error does not name the tool: %v", e)
			}
		}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 5} {
			t.Run(fmt.Sprintf("%s/chunk=%d", tt.fixture, chunk), func(t *testing.T) {
				srv := serveFixture(t, tt.fixture, chunk)
				c := newClient(t, srv.URL, Options{})
				r := collect(t, c, context.Background(), simpleRequest())
				if r.err == nil {
					t.Fatalf("no error; response %v", r.resp)
				}
				tt.check(t, r.err)
			})
		}
	}
}

// A tool call writing a big file arrives as one multi-megabyte line.
func TestStreamHugeLine(t *testing.T) {
	content := strings.Repeat("x", 4<<20)
	args, _ := json.Marshal(map[string]string{"path": "big.txt", "content": content})
	first, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{
		"tool_calls": []any{map[string]any{"index": 0, "id": "c1", "type": "function", "function": map[string]any{"name": "file_write", "arguments": string(args)}}},
	}}}})
	body := "data: " + string(first) + "\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"
	srv := serveBytes(t, "text/event-stream", []byte(body), 32<<10)
	c := newClient(t, srv.URL, Options{})
	r := collect(t, c, context.Background(), simpleRequest())
	if r.err != nil {
		t.Fatal(r.err)
	}
	var in struct{ Content string }
	if len(r.resp.ToolCalls) != 1 || json.Unmarshal(r.resp.ToolCalls[0].Input, &in) != nil || in.Content != content {
		t.Fatalf("the 4 MB call did not come through")
	}
}

// An answer to a stream request that is not a stream still gives events.
func TestStreamGetsCompleteAnswer(t *testing.T) {
	srv := serveFixture(t, "ollama_complete.json", 0)
	c := newClient(t, srv.URL, Options{})
	r := collect(t, c, context.Background(), simpleRequest())
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.text != "It is 4." || r.reasoning != "2+2=4" || r.resp.Text != "It is 4." || r.resp.Reasoning != "2+2=4" {
		t.Fatalf("got deltas %q %q, response %v", r.text, r.reasoning, r.resp)
	}
}

// Stopping the iteration early ends the request; nothing is yielded after.
func TestStreamStopEarly(t *testing.T) {
	srv := serveFixture(t, "llamacpp_inline_think.sse", 1)
	c := newClient(t, srv.URL, Options{})
	n := 0
	for _, err := range c.Stream(context.Background(), simpleRequest()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("got %d events", n)
	}
}

// Cancelling the context mid-stream returns at once with the context's
// error, even though the server keeps the stream open.
func TestStreamCancelMidStream(t *testing.T) {
	release := make(chan struct{})
	srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select { // hang, as a stuck server does
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c := newClient(t, srv.URL, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	var gotErr error
	for ev, err := range c.Stream(ctx, simpleRequest()) {
		if err != nil {
			gotErr = err
			break
		}
		if ev.Kind == llm.EventTextDelta {
			cancelledAt = time.Now()
			cancel()
		}
	}
	if cancelledAt.IsZero() {
		t.Fatal("no delta before the hang")
	}
	if elapsed := time.Since(cancelledAt); elapsed > time.Second {
		t.Fatalf("stream took %s to end after cancel", elapsed)
	}
	if gotErr != context.Canceled {
		t.Fatalf("error %v, want context.Canceled", gotErr)
	}
}

// Options.Timeout cuts off a server that hangs, as a retryable transport
// error.
func TestTimeout(t *testing.T) {
	srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c := newClient(t, srv.URL, Options{Timeout: 100 * time.Millisecond})
	start := time.Now()
	r := collect(t, c, context.Background(), simpleRequest())
	e := asError[*llm.TransportError](t, r.err)
	if !llm.Retryable(e) || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s", e, time.Since(start))
	}
	_, err := c.Complete(context.Background(), simpleRequest())
	asError[*llm.TransportError](t, err)
}

// Servers that label their answers wrongly are read by what they send.
func TestMislabelledAnswers(t *testing.T) {
	sse, _ := os.ReadFile("testdata/vllm_reasoning_tool.sse")
	js, _ := os.ReadFile("testdata/ollama_complete.json")
	for _, tc := range []struct {
		name, ct string
		body     []byte
		text     string
	}{
		{"SSE as text/plain", "text/plain; charset=utf-8", sse, ""},
		{"JSON as text/plain", "text/plain", js, "It is 4."},
		{"SSE without a type", "", sse, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tc.ct}
				w.Write(tc.body)
			})
			c := newClient(t, srv.URL, Options{})
			resp, err := c.Complete(context.Background(), simpleRequest())
			if err != nil || resp.Text != tc.text {
				t.Fatalf("Complete: %v %v", resp, err)
			}
			r := collect(t, c, context.Background(), simpleRequest())
			if r.err != nil || r.resp.Text != tc.text {
				t.Fatalf("Stream: %v %v", r.resp, r.err)
			}
		})
	}
}

// A tool call cut off by max_tokens says so.
func TestCallCutAtMaxTokens(t *testing.T) {
	body := "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"file_write\",\"arguments\":\"{\\\"path\\\": \\\"a\"}}]}}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n"
	srv := serveBytes(t, "text/event-stream", []byte(body), 0)
	c := newClient(t, srv.URL, Options{})
	r := collect(t, c, context.Background(), simpleRequest())
	e := asError[*llm.ProtocolError](t, r.err)
	if !strings.Contains(e.Error(), "max_tokens") || !strings.Contains(e.Error(), "file_write") {
		t.Fatalf("got %v", e)
	}
}

// Without llama.cpp's timings, the client reports the token counts and
// the times it saw.
func TestObservedTimings(t *testing.T) {
	srv := serveFixture(t, "vllm_reasoning_tool.sse", 0)
	c := newClient(t, srv.URL, Options{})
	r := collect(t, c, context.Background(), simpleRequest())
	if r.err != nil {
		t.Fatal(r.err)
	}
	tm := r.resp.Timings
	if tm.PromptTokens != 50 || tm.GeneratedTokens != 20 || tm.PromptMS <= 0 || tm.GenerationMS < 0 {
		t.Fatalf("timings %+v", tm)
	}
}
