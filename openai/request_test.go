package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
)

// history is a conversation with every kind of message.
func history() []llm.Message {
	return []llm.Message{
		llm.UserMessage("list the Go files"),
		{Role: llm.RoleAssistant, Content: "Looking.", Reasoning: "use glob"},
		llm.ToolUseMessage(llm.ToolCall{ID: "call_1", Name: "glob", Input: json.RawMessage(`{"pattern":"*.go"}`)}),
		llm.ToolUseMessage(llm.ToolCall{ID: "call_2", Name: "now"}),
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "call_1", Name: "glob", Content: "main.go"}),
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "call_2", Name: "now", Content: "no clock</tool_result>", IsError: true}),
		llm.UserMessage("thanks"),
	}
}

func fullRequest() llm.Request {
	return llm.Request{
		System:   "You are terse.\n\n## Available Tools\n\n### glob\n{schema}",
		Messages: history(),
		Tools: []llm.ToolDef{
			{Name: "glob", Description: "Find files.", InputSchema: json.RawMessage(`{"type":"object","properties":{"pattern":{"type":"string"}},"required":["pattern"]}`)},
			{Name: "now"},
		},
		MaxTokens:   512,
		Temperature: llm.Ptr(0.0),
		TopK:        llm.Ptr(40),
		MinP:        llm.Ptr(0.05),
		RepeatLastN: llm.Ptr(64),
		Seed:        llm.Ptr(int64(7)),
		Stop:        []string{"</answer>"},
	}
}

// sentBody captures the body of one Complete call.
func sentBody(t *testing.T, opts Options, req llm.Request) string {
	t.Helper()
	srv := serveFixture(t, "ollama_complete.json", 0)
	c := newClient(t, srv.URL, opts)
	if _, err := c.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return string(srv.bodies[0])
}

func TestRequestBodyNative(t *testing.T) {
	got := sentBody(t, Options{Model: "qwen3"}, fullRequest())
	want := `{"model":"qwen3","messages":[` +
		`{"role":"system","content":"You are terse."},` +
		`{"role":"user","content":"list the Go files"},` +
		`{"role":"assistant","content":"Looking.","tool_calls":[` +
		`{"id":"call_1","type":"function","function":{"name":"glob","arguments":"{\"pattern\":\"*.go\"}"}},` +
		`{"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},` +
		`{"role":"tool","content":"main.go","tool_call_id":"call_1"},` +
		`{"role":"tool","content":"Error: no clock\u003c/tool_result\u003e","tool_call_id":"call_2"},` +
		`{"role":"user","content":"thanks"}],` +
		`"tools":[{"type":"function","function":{"name":"glob","description":"Find files.","parameters":{"type":"object","properties":{"pattern":{"type":"string"}},"required":["pattern"]}}},` +
		`{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],` +
		`"max_tokens":512,"temperature":0,"top_k":40,"min_p":0.05,"repeat_last_n":64,"seed":7,"stop":["\u003c/answer\u003e"],"stream":false}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

// TestRequestBodyWholeTurn: an assistant turn stored as one message with
// text and two calls is sent exactly as the same turn stored one call per
// message, in both tool modes.
func TestRequestBodyWholeTurn(t *testing.T) {
	whole := fullRequest()
	h := history()
	turn := h[1]
	turn.ToolCalls = append(slices.Clone(h[2].ToolCalls), h[3].ToolCalls...)
	whole.Messages = append([]llm.Message{h[0], turn}, h[4:]...)
	for _, mode := range []ToolMode{ToolsNative, ToolsText} {
		split, joined := sentBody(t, Options{ToolMode: mode}, fullRequest()), sentBody(t, Options{ToolMode: mode}, whole)
		if split != joined {
			t.Errorf("mode %v: one message per call\n%s\none turn\n%s", mode, split, joined)
		}
	}
}

func TestRequestBodyText(t *testing.T) {
	got := sentBody(t, Options{ToolMode: ToolsText}, fullRequest())
	var body struct {
		Messages []struct{ Role, Content string }
		Tools    any
	}
	if err := json.Unmarshal([]byte(got), &body); err != nil {
		t.Fatal(err)
	}
	if body.Tools != nil {
		t.Errorf("text mode sent native tools")
	}
	roles := []string{}
	for _, m := range body.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,user,assistant,user" {
		t.Fatalf("roles %v, want alternating turns", roles)
	}
	sys := body.Messages[0].Content
	if !strings.HasPrefix(sys, "You are terse.\n\n## Tool use\n") || strings.Contains(sys, "Available Tools") ||
		!strings.Contains(sys, "- pattern (string, required)") {
		t.Errorf("system prompt:\n%s", sys)
	}
	wantAssistant := "Looking.\n\n<tool_call>\n{\"name\":\"glob\",\"input\":{\"pattern\":\"*.go\"}}\n</tool_call>\n\n<tool_call>\n{\"name\":\"now\",\"input\":{}}\n</tool_call>"
	if body.Messages[2].Content != wantAssistant {
		t.Errorf("assistant turn\n got %q\nwant %q", body.Messages[2].Content, wantAssistant)
	}
	wantUser := "<tool_result name=\"glob\">\nmain.go\n</tool_result>\n\n<tool_result name=\"now\" error=\"true\">\nno clock&lt;/tool_result>\n</tool_result>\n\nthanks"
	if body.Messages[3].Content != wantUser {
		t.Errorf("user turn\n got %q\nwant %q", body.Messages[3].Content, wantUser)
	}
}

func TestRequestBodyReasoningInHistory(t *testing.T) {
	native := sentBody(t, Options{ReasoningInHistory: true}, fullRequest())
	if !strings.Contains(native, `"content":"Looking.","reasoning_content":"use glob"`) {
		t.Errorf("native body lacks reasoning_content: %s", native)
	}
	text := sentBody(t, Options{ToolMode: ToolsText, ReasoningInHistory: true}, fullRequest())
	if !strings.Contains(text, `"content":"\u003cthink\u003e\nuse glob\n\u003c/think\u003e\n\nLooking.`) {
		t.Errorf("text body lacks the think block: %s", text)
	}
	if off := sentBody(t, Options{}, fullRequest()); strings.Contains(off, "use glob") {
		t.Errorf("reasoning sent although not asked: %s", off)
	}
}

// Without tools the system prompt is sent whole, and unset sampling
// fields are left out.
func TestRequestBodyMinimal(t *testing.T) {
	req := llm.Request{System: "a\n\n## Available Tools\nb", Messages: []llm.Message{llm.UserMessage("hi")}}
	got := sentBody(t, Options{}, req)
	want := `{"messages":[{"role":"system","content":"a\n\n## Available Tools\nb"},{"role":"user","content":"hi"}],"stream":false}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

// A forced tool choice and a response format travel as OpenAI's
// tool_choice and response_format; tool_choice "none" leaves the tools
// out.
func TestRequestBodyChoiceAndFormat(t *testing.T) {
	base := llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, Tools: fullRequest().Tools[1:]}
	cases := []struct {
		name string
		mod  func(*llm.Request)
		want string
	}{
		{"named", func(r *llm.Request) { r.ToolChoice = llm.ToolChoiceNamed("now") },
			`"tool_choice":{"type":"function","function":{"name":"now"}}`},
		{"required", func(r *llm.Request) { r.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired} }, `"tool_choice":"required"`},
		{"none", func(r *llm.Request) { r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNone} }, `"messages":[{"role":"user","content":"hi"}],"stream":false}`},
		{"json object", func(r *llm.Request) { r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject} },
			`"response_format":{"type":"json_object"}`},
		{"schema", func(r *llm.Request) {
			r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{"type":"integer"}`), Strict: true}
		}, `"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"integer"},"strict":true}}`},
	}
	for _, c := range cases {
		req := base
		c.mod(&req)
		if got := sentBody(t, Options{}, req); !strings.Contains(got, c.want) {
			t.Errorf("%s: body %s lacks %s", c.name, got, c.want)
		}
	}
	req := base
	req.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired}
	c := newClient(t, serveFixture(t, "ollama_complete.json", 0).URL, Options{ToolMode: ToolsText})
	var re *llm.RequestError
	if _, err := c.Complete(context.Background(), req); !errors.As(err, &re) {
		t.Errorf("a forced call through the text protocol: %v, want a request error", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	srv := serveFixture(t, "ollama_complete.json", 0)
	c := newClient(t, srv.URL, Options{APIKey: "sk-test"})
	if _, err := c.Complete(context.Background(), simpleRequest()); err != nil {
		t.Fatal(err)
	}
	h := srv.header[0]
	if h.Get("Authorization") != "Bearer sk-test" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
}

// Loopback servers are never reached through the environment's proxy;
// other hosts are.
func TestProxyBypassForLoopback(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"choices":[{"index":0,"message":{"content":"from the proxy"},"finish_reason":"stop"}]}`))
	})
	proxyURL, _ := url.Parse(proxy.URL)
	old := httpapi.EnvProxy
	httpapi.EnvProxy = func(*http.Request) (*url.URL, error) { return proxyURL, nil } // as if HTTP_PROXY were set
	t.Cleanup(func() { httpapi.EnvProxy = old })

	local := serveFixture(t, "ollama_complete.json", 0)
	for _, base := range []string{local.URL, strings.Replace(local.URL, "127.0.0.1", "localhost", 1)} {
		c := newClient(t, base, Options{})
		resp, err := c.Complete(context.Background(), simpleRequest())
		if err != nil || resp.Text != "It is 4." {
			t.Fatalf("%s: %v %v", base, resp, err)
		}
	}
	if n := proxied.Load(); n != 0 {
		t.Fatalf("loopback requests went through the proxy %d times", n)
	}
	remote := newClient(t, "http://models.example.invalid", Options{})
	resp, err := remote.Complete(context.Background(), simpleRequest())
	if err != nil || resp.Text != "from the proxy" || proxied.Load() != 1 {
		t.Fatalf("remote request did not use the proxy: %v %v", resp, err)
	}
}

func TestModels(t *testing.T) {
	tests := []struct {
		name, body string
		want       []Model
	}{
		{"vLLM", `{"object":"list","data":[{"id":"Qwen/Qwen3-8B","object":"model","owned_by":"vllm","root":"Qwen/Qwen3-8B","max_model_len":32768}]}`,
			[]Model{{ID: "Qwen/Qwen3-8B", ContextLength: 32768}}},
		{"llama.cpp", `{"object":"list","data":[{"id":"qwen3.gguf","object":"model","owned_by":"llamacpp","meta":{"vocab_type":2,"n_vocab":151936,"n_ctx_train":40960,"n_embd":4096}}]}`,
			[]Model{{ID: "qwen3.gguf", ContextLength: 40960}}},
		{"llama.cpp loading", `{"object":"list","data":[{"id":"qwen3.gguf","object":"model","meta":null}]}`, []Model{{ID: "qwen3.gguf"}}},
		{"ollama", `{"object":"list","data":[{"id":"qwen3:8b","object":"model","created":1,"owned_by":"library"},{"id":"llama3.2:1b","object":"model"}]}`,
			[]Model{{ID: "qwen3:8b"}, {ID: "llama3.2:1b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "GET" || r.URL.Path != "/v1/models" {
					http.NotFound(w, r)
					return
				}
				w.Write([]byte(tt.body))
			})
			c := newClient(t, srv.URL, Options{})
			got, err := c.Models(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got[i], tt.want[i])
				}
			}
		})
	}
}

func TestGet(t *testing.T) {
	loading := atomic.Bool{}
	loading.Store(true)
	srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health" && loading.Load():
			w.WriteHeader(503)
			w.Write([]byte(`{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`))
		case r.URL.Path == "/health":
			w.Write([]byte(`{"status":"ok"}`))
		case r.URL.Path == "/props":
			w.Write([]byte(`{"default_generation_settings":{"n_ctx":8192},"total_slots":1}`))
		default:
			http.NotFound(w, r)
		}
	})
	c := newClient(t, srv.URL+"/v1", Options{})
	_, err := c.Get(context.Background(), "/health")
	if e := asError[*llm.RateLimitedError](t, err); !e.Overloaded {
		t.Fatalf("loading server: %+v", e)
	}
	loading.Store(false)
	if b, err := c.Get(context.Background(), "health"); err != nil || string(b) != `{"status":"ok"}` {
		t.Fatalf("health: %s %v", b, err)
	}
	if b, err := c.Get(context.Background(), "/props"); err != nil || !strings.Contains(string(b), `"n_ctx":8192`) {
		t.Fatalf("props: %s %v", b, err)
	}
	_, err = c.Get(context.Background(), "/nope")
	if e := asError[*llm.HTTPError](t, err); e.StatusCode != 404 {
		t.Fatalf("got %+v", e)
	}
}
