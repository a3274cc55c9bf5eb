package openai

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

func TestCompleteFixtures(t *testing.T) {
	tests := []struct {
		fixture   string
		opts      Options
		text      string
		reasoning string
		calls     []call
		stopWhy   llm.StopReason
		usage     llm.Usage
	}{
		{fixture: "llamacpp_complete.json", reasoning: "I need the file list.", calls: []call{{"Zr8uQ2", "glob", `{"pattern":"*.go"}`}},
			stopWhy: llm.StopToolUse, usage: llm.Usage{InputTokens: 60, OutputTokens: 15}},
		{fixture: "vllm_complete.json", text: "Hello!", reasoning: "Short.", stopWhy: llm.StopMaxTokens, usage: llm.Usage{InputTokens: 10, OutputTokens: 20}},
		{fixture: "ollama_complete.json", text: "It is 4.", reasoning: "2+2=4", stopWhy: llm.StopEndTurn, usage: llm.Usage{InputTokens: 12, OutputTokens: 7}},
		// apr: text protocol, the template's bare </think>, as the seed handles it.
		{fixture: "apr_text_complete.json", opts: Options{ToolMode: ToolsText}, text: "Sure.", calls: []call{{"", "file_read", `{"path":"a.go"}`}},
			stopWhy: llm.StopToolUse, usage: llm.Usage{InputTokens: 40, OutputTokens: 30}},
		// A server that streams although not asked to.
		{fixture: "vllm_reasoning_tool.sse", reasoning: "Need to read main.go first.", calls: []call{{"chatcmpl-tool-5b1c", "file_read", `{"path":"main.go"}`}},
			stopWhy: llm.StopToolUse, usage: llm.Usage{InputTokens: 50, OutputTokens: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			srv := serveFixture(t, tt.fixture, 3)
			c := newClient(t, srv.URL, tt.opts)
			resp, err := c.Complete(context.Background(), simpleRequest())
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tt.text || resp.Reasoning != tt.reasoning {
				t.Errorf("text %q reasoning %q, want %q %q", resp.Text, resp.Reasoning, tt.text, tt.reasoning)
			}
			checkCalls(t, "calls", resp.ToolCalls, tt.calls)
			if resp.StopReason != tt.stopWhy || resp.Usage != tt.usage {
				t.Errorf("stop %s usage %+v, want %s %+v", resp.StopReason, resp.Usage, tt.stopWhy, tt.usage)
			}
			if body := srv.lastBody(t); body["stream"] != false || body["stream_options"] != nil {
				t.Errorf("request stream fields %v %v", body["stream"], body["stream_options"])
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		check  func(t *testing.T, err error)
	}{
		{"429 with seconds", 429, map[string]string{"Retry-After": "7"}, `{"error":{"message":"slow down","type":"rate_limit"}}`, func(t *testing.T, err error) {
			e := asError[*llm.RateLimitedError](t, err)
			if e.Overloaded || e.RetryAfter != 7*time.Second || e.Message != "slow down" || !llm.Retryable(err) {
				t.Errorf("got %+v", e)
			}
		}},
		{"429 with a date", 429, map[string]string{"Retry-After": httpDate}, ``, func(t *testing.T, err error) {
			e := asError[*llm.RateLimitedError](t, err)
			if e.RetryAfter < 80*time.Second || e.RetryAfter > 91*time.Second {
				t.Errorf("retry after %s, want about 90s", e.RetryAfter)
			}
		}},
		{"503 llama-server loading", 503, nil, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`, func(t *testing.T, err error) {
			e := asError[*llm.RateLimitedError](t, err)
			if !e.Overloaded || e.Message != "Loading model" || e.StatusCode != 503 {
				t.Errorf("got %+v", e)
			}
		}},
		{"529 overloaded", 529, map[string]string{"Retry-After-Ms": "1500"}, `{"error":{"type":"overloaded_error","message":"Overloaded"}}`, func(t *testing.T, err error) {
			e := asError[*llm.RateLimitedError](t, err)
			if !e.Overloaded || e.RetryAfter != 1500*time.Millisecond {
				t.Errorf("got %+v", e)
			}
		}},
		{"llama.cpp context overflow", 400, nil, `{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5012,"n_ctx":4096}}`, func(t *testing.T, err error) {
			e := asError[*llm.ContextOverflowError](t, err)
			if e.Required != 5012 || e.Available != 4096 || llm.Retryable(err) {
				t.Errorf("got %+v", e)
			}
		}},
		{"vLLM context overflow", 400, nil, `{"object":"error","message":"This model's maximum context length is 32768 tokens. However, you requested 33000 tokens (32000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`, func(t *testing.T, err error) {
			e := asError[*llm.ContextOverflowError](t, err)
			if e.Required != 33000 || e.Available != 32768 {
				t.Errorf("got %+v", e)
			}
		}},
		{"newer vLLM overflow wording", 400, nil, `{"error":{"message":"This model's maximum context length is 2048 tokens. However, your request has 3000 input tokens. Please reduce the length of the input messages.","type":"BadRequestError","code":400}}`, func(t *testing.T, err error) {
			e := asError[*llm.ContextOverflowError](t, err)
			if e.Required != 3000 || e.Available != 2048 {
				t.Errorf("got %+v", e)
			}
		}},
		{"OpenAI context_length_exceeded", 400, nil, `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}`, func(t *testing.T, err error) {
			e := asError[*llm.ContextOverflowError](t, err)
			if e.Required != 9000 || e.Available != 8192 {
				t.Errorf("got %+v", e)
			}
		}},
		{"other overflow wording, no numbers", 400, nil, `{"error":"prompt is too long for the context window"}`, func(t *testing.T, err error) {
			e := asError[*llm.ContextOverflowError](t, err)
			if e.Required != 0 || e.Message == "" {
				t.Errorf("got %+v", e)
			}
		}},
		{"401 is not retried", 401, nil, `{"error":{"message":"Invalid API key","type":"authentication_error"}}`, func(t *testing.T, err error) {
			e := asError[*llm.HTTPError](t, err)
			if e.StatusCode != 401 || e.Message != "Invalid API key" || llm.Retryable(err) {
				t.Errorf("got %+v", e)
			}
		}},
		{"404 FastAPI detail", 404, nil, `{"detail":"Not Found"}`, func(t *testing.T, err error) {
			e := asError[*llm.HTTPError](t, err)
			if e.Message != "Not Found" {
				t.Errorf("got %+v", e)
			}
		}},
		{"500 plain text", 500, nil, "internal\nerror ", func(t *testing.T, err error) {
			e := asError[*llm.HTTPError](t, err)
			if e.Message != "internal error" || !llm.Retryable(err) {
				t.Errorf("got %+v", e)
			}
		}},
		{"200 that is not JSON", 200, map[string]string{"Content-Type": "application/json"}, "<html>proxy login</html>", func(t *testing.T, err error) {
			e := asError[*llm.ProtocolError](t, err)
			if !strings.Contains(e.Error(), "proxy login") {
				t.Errorf("got %v", e)
			}
		}},
		{"200 with an error object", 200, map[string]string{"Content-Type": "application/json"}, `{"error":{"code":503,"message":"busy"}}`, func(t *testing.T, err error) {
			asError[*llm.RateLimitedError](t, err)
		}},
		{"200 with tether's shutting-down error", 200, map[string]string{"Content-Type": "application/json"}, `{"error":{"code":"server_shutting_down","message":"the server is shutting down","type":"unavailable_error"}}`, func(t *testing.T, err error) {
			if e := asError[*llm.RateLimitedError](t, err); !e.Overloaded || e.StatusCode != 503 {
				t.Errorf("got %+v", e)
			}
		}},
		{"200 with a string rate-limit code", 200, map[string]string{"Content-Type": "application/json"}, `{"error":{"code":"rate_limit_exceeded","message":"slow down"}}`, func(t *testing.T, err error) {
			if e := asError[*llm.RateLimitedError](t, err); e.Overloaded || e.StatusCode != 429 {
				t.Errorf("got %+v", e)
			}
		}},
		{"200 with an invalid request type", 200, map[string]string{"Content-Type": "application/json"}, `{"error":{"code":"invalid_value","message":"bad","type":"invalid_request_error"}}`, func(t *testing.T, err error) {
			if e := asError[*llm.HTTPError](t, err); e.StatusCode != 400 {
				t.Errorf("got %+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			c := newClient(t, srv.URL, Options{})
			_, err := c.Complete(context.Background(), simpleRequest())
			tt.check(t, err)
			r := collect(t, c, context.Background(), simpleRequest())
			tt.check(t, r.err)
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, "http://"+addr, Options{})
	_, err = c.Complete(context.Background(), simpleRequest())
	e := asError[*llm.TransportError](t, err)
	if !llm.Retryable(e) || !strings.Contains(e.Error(), "refused") {
		t.Fatalf("got %v", e)
	}
}

func TestCancelledBeforeAnswer(t *testing.T) {
	srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		<-r.Context().Done()
	})
	c := newClient(t, srv.URL, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Complete(ctx, simpleRequest())
	if !errors.Is(err, context.DeadlineExceeded) || err != ctx.Err() {
		t.Fatalf("got %v, want the context's error", err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"choices":[{"index":0,"message":{"content":"via socket"},"finish_reason":"stop"}]}`))
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	c := newClient(t, "unix://"+sock, Options{})
	resp, err := c.Complete(context.Background(), simpleRequest())
	if err != nil || resp.Text != "via socket" {
		t.Fatalf("got %v %v", resp, err)
	}
	if c.Info().Privacy != llm.Sovereign {
		t.Errorf("a unix socket server is not sovereign")
	}
}

// Streams and complete answers give their connections back to the pool.
func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop"}]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, Options{})
	for range 5 {
		if r := collect(t, c, context.Background(), simpleRequest()); r.err != nil {
			t.Fatal(r.err)
		}
		if _, err := c.Complete(context.Background(), simpleRequest()); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("10 sequential requests used %d connections, want 1", n)
	}
}

func TestClose(t *testing.T) {
	srv := serveFixture(t, "ollama_complete.json", 0)
	c := newClient(t, srv.URL, Options{})
	c.Close()
	c.Close()
	if _, err := c.Complete(context.Background(), simpleRequest()); !errors.Is(err, llm.ErrClosed) {
		t.Fatalf("Complete after Close: %v", err)
	}
	r := collect(t, c, context.Background(), simpleRequest())
	if !errors.Is(r.err, llm.ErrClosed) {
		t.Fatalf("Stream after Close: %v", r.err)
	}
	if _, err := c.Models(context.Background()); !errors.Is(err, llm.ErrClosed) {
		t.Fatalf("Models after Close: %v", err)
	}
}

func TestInvalidRequest(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", Options{})
	_, err := c.Complete(context.Background(), llm.Request{})
	asError[*llm.RequestError](t, err)
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://", "unix://", "::"} {
		if _, err := New(Options{BaseURL: u}); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct{ base, chat, root string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/chat/completions", "http://127.0.0.1:8080"},
		{"https://api.example.com/v1", "https://api.example.com/v1/chat/completions", "https://api.example.com"},
		{"https://api.example.com/openai/v1/", "https://api.example.com/openai/v1/chat/completions", "https://api.example.com/openai"},
		{"http://h:1/prefix", "http://h:1/prefix/v1/chat/completions", "http://h:1/prefix"},
	}
	for _, tt := range tests {
		c, err := New(Options{BaseURL: tt.base})
		if err != nil {
			t.Fatal(err)
		}
		if c.chatURL != tt.chat || c.root != tt.root {
			t.Errorf("%s: chat %s root %s, want %s %s", tt.base, c.chatURL, c.root, tt.chat, tt.root)
		}
	}
}

func TestInfo(t *testing.T) {
	local, _ := New(Options{BaseURL: "http://127.0.0.1:8080", Model: "m", ContextWindow: 8192, Backend: "llama-server"})
	if i := local.Info(); i.Privacy != llm.Sovereign || i.Backend != "llama-server" || i.ContextWindow != 8192 || i.ContextSource != "caller" || i.Model != "m" {
		t.Errorf("local info %+v", i)
	}
	remote, _ := New(Options{BaseURL: "https://api.example.com/v1"})
	if i := remote.Info(); i.Privacy != llm.Standard || i.Backend != "remote" || i.ContextSource != "" {
		t.Errorf("remote info %+v", i)
	}
}

// One client serves many requests at once.
func TestConcurrentRequests(t *testing.T) {
	srv := serveFixture(t, "parallel_tools.sse", 16)
	c := newClient(t, srv.URL, Options{})
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			var resp *llm.Response
			var err error
			if i%2 == 0 {
				resp, err = c.Complete(context.Background(), simpleRequest())
			} else {
				resp, err = llm.CompleteFromStream(c.Stream(context.Background(), simpleRequest()))
			}
			if err == nil && len(resp.ToolCalls) != 2 {
				err = errors.New("wrong number of calls")
			}
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
