package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// fakeServer answers every request with status, headers and body, and
// records the last request.
type fakeServer struct {
	*httptest.Server
	status int
	header map[string]string
	body   string
	got    *http.Request
	sent   []byte
}

func newFake(t *testing.T, status int, body string, header map[string]string) *fakeServer {
	f := &fakeServer{status: status, body: body, header: header}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.got = r
		f.sent, _ = io.ReadAll(r.Body)
		for k, v := range f.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func client(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(Options{BaseURL: url, APIKey: "key", Model: "claude-test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var hello = llm.Request{System: "be brief", Messages: []llm.Message{llm.UserMessage("hi")}}

// TestErrors checks that error answers become the llm error types.
func TestErrors(t *testing.T) {
	anthropicErr := func(typ, msg string) string {
		b, _ := json.Marshal(ErrorBody{Type: "error", Error: ErrorObject{Type: typ, Message: msg}})
		return string(b)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		status int
		body   string
		header map[string]string
		check  func(error) bool
	}{
		{"rate limited", 429, anthropicErr(ErrRateLimit, "slow down"), map[string]string{"Retry-After": "7"}, func(err error) bool {
			var e *llm.RateLimitedError
			return errors.As(err, &e) && !e.Overloaded && e.RetryAfter == 7*time.Second && e.Message == "slow down" && llm.Retryable(err)
		}},
		{"overloaded", 529, anthropicErr(ErrOverloaded, "Overloaded"), map[string]string{"Retry-After-Ms": "1500"}, func(err error) bool {
			var e *llm.RateLimitedError
			return errors.As(err, &e) && e.Overloaded && e.RetryAfter == 1500*time.Millisecond
		}},
		{"loading", 503, anthropicErr(ErrOverloaded, "Loading model"), nil, func(err error) bool {
			var e *llm.RateLimitedError
			return errors.As(err, &e) && e.Overloaded
		}},
		{"too long", 400, anthropicErr(ErrInvalidRequest, "prompt is too long: 208310 tokens > 200000 maximum"), nil, func(err error) bool {
			var e *llm.ContextOverflowError
			return errors.As(err, &e) && e.Required == 208310 && e.Available == 200000 && !llm.Retryable(err)
		}},
		{"auth", 401, anthropicErr(ErrAuthentication, "invalid x-api-key"), nil, func(err error) bool {
			var e *llm.HTTPError
			return errors.As(err, &e) && e.StatusCode == 401 && e.Message == "invalid x-api-key" && !llm.Retryable(err)
		}},
		{"openai shape", 400, `{"error":{"message":"bad thing","type":"invalid_request_error"}}`, nil, func(err error) bool {
			var e *llm.HTTPError
			return errors.As(err, &e) && e.StatusCode == 400 && e.Message == "bad thing"
		}},
		{"text", 502, "Bad Gateway", nil, func(err error) bool {
			var e *llm.HTTPError
			return errors.As(err, &e) && e.StatusCode == 502 && e.Message == "Bad Gateway" && llm.Retryable(err)
		}},
		{"error event", 200, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":3}}}\n\n" +
			"event: error\ndata: " + anthropicErr(ErrOverloaded, "Overloaded") + "\n\n", map[string]string{"Content-Type": "text/event-stream"}, func(err error) bool {
			var e *llm.RateLimitedError
			return errors.As(err, &e) && e.Overloaded && e.StatusCode == 529
		}},
		{"truncated", 200, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[]}}\n\n", map[string]string{"Content-Type": "text/event-stream"}, func(err error) bool {
			var e *llm.TransportError
			return errors.As(err, &e)
		}},
		{"not a message", 200, "{nope", map[string]string{"Content-Type": "application/json"}, func(err error) bool {
			var e *llm.ProtocolError
			return errors.As(err, &e)
		}},
		{"bad tool input", 200, `{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":[1]}],"stop_reason":"tool_use"}`, nil, func(err error) bool {
			var e *llm.ProtocolError
			return errors.As(err, &e) && strings.Contains(e.Reason, `"f"`)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, c.status, c.body, c.header)
			_, err := client(t, f.URL).Complete(ctx, hello)
			if err == nil || !c.check(err) {
				t.Errorf("error %T %v", err, err)
			}
		})
	}
}

// TestRequest checks what the client sends: headers, the path, and the
// conversation in the API's shape.
func TestRequest(t *testing.T) {
	f := newFake(t, 200, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"hello"},{"type":"tool_use","id":"toolu_1","name":"glob","input":{"pattern":"*.go"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":4}}`, map[string]string{"Content-Type": "application/json"})
	c := client(t, f.URL+"/v1/")
	req := llm.Request{
		System: "sys",
		Messages: []llm.Message{
			llm.SystemMessage("more sys"),
			llm.UserMessage("list the files"),
			{Role: llm.RoleAssistant, Content: "let me see", Reasoning: "think"},
			llm.ToolUseMessage(llm.ToolCall{ID: "toolu_0", Name: "glob", Input: json.RawMessage(`{ "pattern" : "*" }`)}),
			llm.ToolResultMessage(llm.ToolResult{ToolUseID: "toolu_0", Content: "a.go", IsError: true}),
			llm.UserMessage("thanks"),
		},
		Tools:       []llm.ToolDef{{Name: "glob", Description: "find files"}},
		MaxTokens:   100,
		Temperature: llm.Ptr(0.5),
		Stop:        []string{"END"},
	}
	resp, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "hello" || resp.Reasoning != "hmm" || resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 ||
		resp.ToolCalls[0].ID != "toolu_1" || string(resp.ToolCalls[0].Input) != `{"pattern":"*.go"}` || resp.Usage != (llm.Usage{InputTokens: 15, OutputTokens: 4}) {
		t.Errorf("response %s %+v", resp, resp.Usage)
	}
	if f.got.URL.Path != "/v1/messages" || f.got.Header.Get("x-api-key") != "key" || f.got.Header.Get("anthropic-version") != DefaultVersion {
		t.Errorf("request %s %v", f.got.URL.Path, f.got.Header)
	}
	want := `{"model":"claude-test","max_tokens":100,"system":[{"text":"sys\n\nmore sys","type":"text"}],"messages":[` +
		`{"role":"user","content":[{"text":"list the files","type":"text"}]},` +
		`{"role":"assistant","content":[{"text":"let me see","type":"text"},{"id":"toolu_0","input":{"pattern":"*"},"name":"glob","type":"tool_use"}]},` +
		`{"role":"user","content":[{"content":[{"text":"a.go","type":"text"}],"is_error":true,"tool_use_id":"toolu_0","type":"tool_result"},{"text":"thanks","type":"text"}]}],` +
		`"tools":[{"name":"glob","description":"find files","input_schema":{"type":"object","properties":{}}}],"stop_sequences":["END"],"temperature":0.5}`
	if string(f.sent) != want {
		t.Errorf("sent %s\nwant %s", f.sent, want)
	}

	// Without a bound the client's default is sent: the API needs one.
	c.Complete(context.Background(), hello)
	var sent Request
	if err := json.Unmarshal(f.sent, &sent); err != nil || sent.MaxTokens != DefaultMaxTokens {
		t.Errorf("default max_tokens: %s", f.sent)
	}

	// Tool choice travels in the API's words; a response format, which
	// the API lacks, is refused before anything is sent.
	for choice, want := range map[llm.ToolChoice]string{
		{}:                          ``,
		{Mode: llm.ToolNone}:        `{"type":"none"}`,
		{Mode: llm.ToolRequired}:    `{"type":"any"}`,
		llm.ToolChoiceNamed("glob"): `{"type":"tool","name":"glob"}`,
	} {
		r := req
		r.ToolChoice = choice
		if _, err := c.Complete(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		var body struct {
			ToolChoice json.RawMessage `json:"tool_choice"`
		}
		if err := json.Unmarshal(f.sent, &body); err != nil || string(body.ToolChoice) != want {
			t.Errorf("tool choice %v sent %s, want %s", choice, body.ToolChoice, want)
		}
	}
	r := req
	r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
	var re *llm.RequestError
	if _, err := c.Complete(context.Background(), r); !errors.As(err, &re) || !strings.Contains(err.Error(), "response_format") {
		t.Errorf("a response format: %v, want a RequestError naming it", err)
	}
}

// TestStream reads a stream as servers send it: CRLF line ends, comments,
// "data:" without a space, pings, and a consumer that stops early.
func TestStream(t *testing.T) {
	body := strings.Join([]string{
		": hello", "event: message_start", `data:{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"usage":{"input_tokens":7,"output_tokens":0}}}`, "",
		"event: ping", `data: {"type": "ping"}`, "",
		"event: content_block_start", `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`, "",
		"event: content_block_delta", `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`, "",
		"event: content_block_delta", `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}`, "",
		"event: content_block_stop", `data: {"type":"content_block_stop","index":0}`, "",
		"event: content_block_start", `data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"f","input":{}}}`, "",
		"event: content_block_delta", `data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`, "",
		"event: content_block_delta", `data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" 1}"}}`, "",
		"event: content_block_stop", `data: {"type":"content_block_stop","index":1}`, "",
		"event: message_delta", `data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`, "",
		"event: message_stop", `data: {"type":"message_stop"}`, "", "",
	}, "\r\n")
	f := newFake(t, 200, body, map[string]string{"Content-Type": "text/event-stream"})
	c := client(t, f.URL)
	var kinds []string
	var resp *llm.Response
	for ev, err := range c.Stream(context.Background(), hello) {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.Kind.String())
		resp = ev.Response
	}
	if got := strings.Join(kinds, " "); got != "text_delta text_delta tool_call_start tool_call_end done" {
		t.Errorf("events %s", got)
	}
	if resp.Text != "Hello" || len(resp.ToolCalls) != 1 || string(resp.ToolCalls[0].Input) != `{"a":1}` || resp.Usage != (llm.Usage{InputTokens: 7, OutputTokens: 9}) {
		t.Errorf("response %s %+v", resp, resp.Usage)
	}
	n := 0
	for range c.Stream(context.Background(), hello) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("stopping early: %d events", n)
	}
}

// FuzzStream reads arbitrary bytes as an event stream: the client never
// panics, and either fails or ends with an answer.
func FuzzStream(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":3}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"name\":\"f\"}}\r\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(nil, nil)
		c := &Client{}
		err := c.readStream(context.Background(), context.Background(), strings.NewReader(string(data)), d)
		if err == nil && d.Response() == nil {
			t.Fatalf("no error and no answer for %q", data)
		}
	})
}

// TestBaseURL checks where requests go and which are local.
func TestBaseURL(t *testing.T) {
	for _, c := range []struct{ base, root string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"},
		{"http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"},
		{"https://api.anthropic.com/", "https://api.anthropic.com/v1"},
		{"http://proxy/anthropic", "http://proxy/anthropic/v1"},
	} {
		cl, err := New(Options{BaseURL: c.base})
		if err != nil || cl.apiRoot != c.root {
			t.Errorf("%s: root %q %v", c.base, cl.apiRoot, err)
		}
	}
	if cl, _ := New(Options{BaseURL: "http://localhost:1"}); cl.Info().Privacy != llm.Sovereign {
		t.Errorf("loopback not sovereign")
	}
	if cl, _ := New(Options{BaseURL: "https://api.anthropic.com"}); cl.Info().Privacy != llm.Standard || cl.Info().Backend != "remote" {
		t.Errorf("remote info %+v", cl.Info())
	}
	for _, bad := range []string{"ftp://x", "http://", "unix://"} {
		if _, err := New(Options{BaseURL: bad}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	cl, _ := New(Options{BaseURL: "http://127.0.0.1:1"})
	cl.Close()
	if _, err := cl.Complete(context.Background(), hello); !errors.Is(err, llm.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestFieldPaths checks that decoding names the path of a bad field.
func TestFieldPaths(t *testing.T) {
	for body, field := range map[string]string{
		`{"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`:                                                                                     "messages[0].content[0].text",
		`{"messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":[]}]}]}]}`: "messages[1].content[0].content[0].text",
		`{"tools":[{"name":"f"},{"name":3}]}`:           "tools[1].name",
		`{"max_tokens":1.5}`:                            "max_tokens",
		`{"tool_choice":{"type":"tool","name":7}}`:      "tool_choice.name",
		`{"messages":[{"role":"user","content":[{}]}]}`: "messages[0].content[0].type",
	} {
		var r Request
		err := json.Unmarshal([]byte(body), &r)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want field %s", body, err, field)
		}
	}
}
