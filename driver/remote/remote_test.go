package remote

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

func TestPrivacyOf(t *testing.T) {
	for endpoint, want := range map[string]llm.PrivacyTier{
		"http://127.0.0.1:8080":        llm.Sovereign,
		"http://[::1]:8080/v1":         llm.Sovereign,
		"http://localhost:11434":       llm.Sovereign,
		"unix:///run/llm.sock":         llm.Sovereign,
		"http://10.1.2.3:8000":         llm.Private,
		"http://192.168.1.20":          llm.Private,
		"http://[fd00::5]:8000":        llm.Private,
		"http://100.101.102.103:8000":  llm.Private,
		"http://gpu-box.internal:8000": llm.Private,
		"https://api.openai.com/v1":    llm.Standard,
		"http://8.8.8.8":               llm.Standard,
	} {
		got, err := PrivacyOf(endpoint)
		if err != nil || got != want {
			t.Errorf("PrivacyOf(%s) = %v, %v; want %v", endpoint, got, err, want)
		}
	}
	if _, err := PrivacyOf("not a url"); err == nil {
		t.Error("PrivacyOf accepted a non-URL")
	}
}

const vllmModels = `{"object":"list","data":[{"id":"Qwen/Qwen3-8B","object":"model","created":1730000000,"owned_by":"vllm","root":"Qwen/Qwen3-8B","parent":null,"max_model_len":32768,"permission":[]},{"id":"qwen3-lora","object":"model","created":1730000000,"owned_by":"vllm","root":"/loras/q","parent":"Qwen/Qwen3-8B","max_model_len":32768}]}`

func TestDialLearnsModelAndContext(t *testing.T) {
	srv := newFake(t, vllmModels, answer{body: "{}"})
	d, err := Dial(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info := d.Info()
	if info.Model != "Qwen/Qwen3-8B" || info.ContextWindow != 32768 || info.ContextSource != "server" || info.Backend != "remote" || info.Privacy != llm.Sovereign {
		t.Fatalf("info %+v", info)
	}
	d2, err := Dial(context.Background(), Options{Endpoint: srv.URL, Model: "qwen3-lora"})
	if err != nil || d2.Info().Model != "qwen3-lora" {
		t.Fatalf("Dial with a listed model: %v", err)
	}
}

func TestDialModelNotFound(t *testing.T) {
	srv := newFake(t, vllmModels, answer{body: "{}"})
	_, err := Dial(context.Background(), Options{Endpoint: srv.URL, Model: "llama-3-70b"})
	var mnf *llm.ModelNotFoundError
	if !errors.As(err, &mnf) || mnf.Model != "llama-3-70b" || strings.Join(mnf.Available, ",") != "Qwen/Qwen3-8B,qwen3-lora" || llm.Retryable(err) {
		t.Fatalf("err %v, want a ModelNotFoundError listing the served models", err)
	}
	if !strings.Contains(err.Error(), "Qwen/Qwen3-8B, qwen3-lora") {
		t.Errorf("the message does not name the models: %v", err)
	}
	empty := newFake(t, `{"object":"list","data":[]}`, answer{body: "{}"})
	if _, err := Dial(context.Background(), Options{Endpoint: empty.URL}); !errors.As(err, &mnf) {
		t.Errorf("a server with no models: %v", err)
	}
	// SkipModelCheck trusts the name and asks nothing.
	d, err := Dial(context.Background(), Options{Endpoint: empty.URL, Model: "x", SkipModelCheck: true, ContextWindow: 4096})
	if err != nil || d.Info().Model != "x" || d.Info().ContextWindow != 4096 || d.Info().ContextSource != "caller" {
		t.Fatalf("SkipModelCheck: %v %+v", err, d)
	}
	d, err = Dial(context.Background(), Options{Endpoint: srv.URL, Model: "x", SkipModelCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := d.Models(context.Background()); err != nil || strings.Join(ids, ",") != "Qwen/Qwen3-8B,qwen3-lora" {
		t.Errorf("Models: %v %v", ids, err)
	}
}

// TestAPIKeySources checks that the key comes from the variable or the
// file named, goes out as a bearer token with the extra headers, and
// never shows in an error.
func TestAPIKeySources(t *testing.T) {
	const key = "sk-test-5ecret-value"
	srv := newFake(t, vllmModels, answer{file: openaiTestdata("vllm_complete.json")})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TETHER_TEST_KEY", key)
	for _, o := range []Options{{APIKeyEnv: "TETHER_TEST_KEY"}, {APIKeyFile: keyFile}, {APIKey: key}} {
		o.Endpoint = srv.URL
		o.Headers = map[string]string{"OpenAI-Organization": "org-1", "x-gateway-route": "blue"}
		d, err := Dial(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Complete(context.Background(), hi()); err != nil {
			t.Fatal(err)
		}
		h := srv.lastHeader()
		if h.Get("Authorization") != "Bearer "+key || h.Get("Openai-Organization") != "org-1" || h.Get("X-Gateway-Route") != "blue" {
			t.Errorf("%+v: headers %v", o, h)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	two := filepath.Join(dir, "two")
	os.WriteFile(two, []byte(key+"\nsecond\n"), 0o600)
	t.Setenv("TETHER_TEST_EMPTY", "")
	for name, o := range map[string]Options{
		"unset variable": {APIKeyEnv: "TETHER_TEST_EMPTY"},
		"missing file":   {APIKeyFile: filepath.Join(dir, "absent")},
		"empty file":     {APIKeyFile: empty},
		"two lines":      {APIKeyFile: two},
		"two sources":    {APIKeyEnv: "TETHER_TEST_KEY", APIKeyFile: keyFile},
	} {
		o.Endpoint = srv.URL
		_, err := Dial(context.Background(), o)
		var ce *llm.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ConfigError", name, err)
		} else if strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}

// TestRecordedShapes replays answers recorded in the documented shapes of
// vLLM, llama.cpp, ollama and OpenAI through the whole driver, streamed
// and not.
func TestRecordedShapes(t *testing.T) {
	type call struct{ id, name, input string }
	tests := []struct {
		name, models, file string
		model              string
		window             int
		text, reasoning    string
		calls              []call
		stop               llm.StopReason
		usage              llm.Usage
	}{
		{"vllm stream", vllmModels, openaiTestdata("vllm_reasoning_tool.sse"), "Qwen/Qwen3-8B", 32768, "", "Need to read main.go first.",
			[]call{{"chatcmpl-tool-5b1c", "file_read", `{"path":"main.go"}`}}, llm.StopToolUse, llm.Usage{InputTokens: 50, OutputTokens: 20}},
		{"vllm complete", vllmModels, openaiTestdata("vllm_complete.json"), "Qwen/Qwen3-8B", 32768, "Hello!", "Short.",
			nil, llm.StopMaxTokens, llm.Usage{InputTokens: 10, OutputTokens: 20}},
		{"llama.cpp stream", `{"models":[{"name":"qwen2.5-7b-instruct-q4_k_m.gguf","model":"qwen2.5-7b-instruct-q4_k_m.gguf"}],"object":"list","data":[{"id":"qwen2.5-7b-instruct-q4_k_m.gguf","object":"model","created":1730000000,"owned_by":"llamacpp","meta":{"vocab_type":2,"n_vocab":152064,"n_ctx_train":32768,"n_embd":3584,"n_params":7615616512,"size":4677120000}}]}`,
			openaiTestdata("llamacpp_reasoning_tool.sse"), "qwen2.5-7b-instruct-q4_k_m.gguf", 32768, "", "The user wants the Go files.",
			[]call{{"Xk2b9QnTz7", "glob", `{"pattern":"**/*.go"}`}}, llm.StopToolUse, llm.Usage{InputTokens: 120, OutputTokens: 25}},
		{"llama.cpp complete", `{"object":"list","data":[{"id":"m.gguf","object":"model","owned_by":"llamacpp","meta":{"n_ctx_train":8192}}]}`,
			openaiTestdata("llamacpp_complete.json"), "m.gguf", 8192, "", "I need the file list.",
			[]call{{"Zr8uQ2", "glob", `{"pattern":"*.go"}`}}, llm.StopToolUse, llm.Usage{InputTokens: 60, OutputTokens: 15}},
		{"ollama stream", `{"object":"list","data":[{"id":"qwen3:8b","object":"model","created":1730000000,"owned_by":"library"}]}`,
			openaiTestdata("ollama_reasoning_tools.sse"), "qwen3:8b", 0, "", "Let me look.",
			[]call{{"call_k1", "glob", `{"pattern":"*.go"}`}, {"call_k2", "grep", `{"pattern":"TODO","path":"."}`}}, llm.StopToolUse, llm.Usage{InputTokens: 30, OutputTokens: 12}},
		{"ollama complete", `{"object":"list","data":[{"id":"qwen3:8b","object":"model","created":1730000000,"owned_by":"library"}]}`,
			openaiTestdata("ollama_complete.json"), "qwen3:8b", 0, "It is 4.", "2+2=4", nil, llm.StopEndTurn, llm.Usage{InputTokens: 12, OutputTokens: 7}},
		{"openai stream with usage", `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}`,
			testdata("openai_tool_usage.sse"), "gpt-4o-mini", 0, "", "",
			[]call{{"call_Vb2x", "get_weather", `{"city":"Paris"}`}}, llm.StopToolUse, llm.Usage{InputTokens: 81, OutputTokens: 15}},
		{"openai text", `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}`,
			testdata("openai_text.sse"), "gpt-4o-mini", 0, "Hello there!", "", nil, llm.StopEndTurn, llm.Usage{InputTokens: 9, OutputTokens: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, tt.models, answer{file: tt.file})
			d, err := Dial(context.Background(), Options{Endpoint: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if info := d.Info(); info.Model != tt.model || info.ContextWindow != tt.window {
				t.Errorf("info %+v, want model %s window %d", info, tt.model, tt.window)
			}
			c := collect(d, context.Background(), hi())
			if c.err != nil {
				t.Fatal(c.err)
			}
			r := c.resp
			if r.Text != tt.text || r.Reasoning != tt.reasoning || r.StopReason != tt.stop || r.Usage != tt.usage {
				t.Errorf("response %s usage %+v; want text %q reasoning %q stop %s usage %+v", r, r.Usage, tt.text, tt.reasoning, tt.stop, tt.usage)
			}
			if c.text != r.Text || c.reasoning != r.Reasoning {
				t.Errorf("deltas %q %q differ from the response", c.text, c.reasoning)
			}
			if len(r.ToolCalls) != len(tt.calls) {
				t.Fatalf("calls %+v, want %+v", r.ToolCalls, tt.calls)
			}
			for i, want := range tt.calls {
				got := r.ToolCalls[i]
				if got.ID != want.id || got.Name != want.name || string(got.Input) != want.input {
					t.Errorf("call %d: %s %s %s, want %+v", i, got.ID, got.Name, got.Input, want)
				}
			}
			// Complete gives the same answer.
			r2, err := d.Complete(context.Background(), hi())
			if err != nil || r2.Text != r.Text || r2.Reasoning != r.Reasoning || r2.Usage != r.Usage {
				t.Errorf("Complete: %v %v", r2, err)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := newFake(t, vllmModels,
		answer{status: 429, header: map[string]string{"Retry-After": "3"}, body: `{"error":{"message":"slow down","type":"rate_limit_error"}}`},
		answer{status: 503, header: map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, body: `{"error":{"message":"busy"}}`},
		answer{file: openaiTestdata("vllm_complete.json")})
	var w waits
	d, err := Dial(context.Background(), Options{Endpoint: srv.URL, Retry: Retry{Attempts: 5, MaxDelay: 2 * time.Hour, Sleep: w.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Complete(context.Background(), hi())
	if err != nil || r.Text != "Hello!" {
		t.Fatalf("%v %v", r, err)
	}
	got := w.got()
	if len(got) != 2 || got[0] < 3*time.Second || got[1] < 59*time.Minute || srv.chatCount() != 3 {
		t.Fatalf("waits %v over %d requests, want at least 3s (seconds) then about 1h (a date) over 3", got, srv.chatCount())
	}
}

// TestRetryAfterTooLong checks that a Retry-After beyond MaxDelay is not
// waited for: the rate-limit error comes back at once with its delay.
func TestRetryAfterTooLong(t *testing.T) {
	srv := newFake(t, vllmModels, answer{status: 429, header: map[string]string{"Retry-After": "600"}, body: `{"error":{"message":"quota"}}`})
	var w waits
	d, err := Dial(context.Background(), Options{Endpoint: srv.URL, Retry: Retry{Attempts: 5, MaxDelay: time.Minute, Sleep: w.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Complete(context.Background(), hi())
	var rl *llm.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 10*time.Minute || len(w.got()) != 0 || srv.chatCount() != 1 {
		t.Fatalf("err %v after %d requests and waits %v", err, srv.chatCount(), w.got())
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 422} {
		srv := newFake(t, vllmModels, answer{status: status, body: `{"error":{"message":"no","type":"invalid_request_error"}}`}, answer{file: openaiTestdata("vllm_complete.json")})
		var w waits
		d, err := Dial(context.Background(), Options{Endpoint: srv.URL, Retry: Retry{Attempts: 5, Sleep: w.sleep}})
		if err != nil {
			t.Fatal(err)
		}
		c := collect(d, context.Background(), hi())
		var he *llm.HTTPError
		if !errors.As(c.err, &he) || he.StatusCode != status || srv.chatCount() != 1 || len(w.got()) != 0 {
			t.Errorf("%d: err %v after %d requests", status, c.err, srv.chatCount())
		}
	}
}

// TestNoSilentRetryAfterFirstByte cuts a stream after some of its events:
// the caller gets those events, then an InterruptedError that is not
// retryable, and the server sees one request.
func TestNoSilentRetryAfterFirstByte(t *testing.T) {
	data, err := os.ReadFile(testdata("openai_text.sse"))
	if err != nil {
		t.Fatal(err)
	}
	half := string(data[:strings.Index(string(data), `"finish_reason":"stop"`)])
	half = half[:strings.LastIndex(half, "data: ")]
	srv := newFake(t, vllmModels, answer{file: "", body: half, cut: true}, answer{file: testdata("openai_text.sse")})
	var w waits
	d, err := Dial(context.Background(), Options{Endpoint: srv.URL, Retry: Retry{Attempts: 5, Sleep: w.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(d, context.Background(), hi())
	var ie *llm.InterruptedError
	var te *llm.TransportError
	if !errors.As(c.err, &ie) || !errors.As(c.err, &te) || llm.Retryable(c.err) {
		t.Fatalf("err %v (retryable %v), want an InterruptedError around a TransportError", c.err, llm.Retryable(c.err))
	}
	if c.text != "Hello there!" || ie.Events != c.events || srv.chatCount() != 1 || len(w.got()) != 0 {
		t.Errorf("text %q, %d events (error says %d), %d requests, waits %v", c.text, c.events, ie.Events, srv.chatCount(), w.got())
	}
}

// TestStalledStream checks the idle timeout on a stream that stops
// sending, and the first-byte timeout on a server that never answers.
func TestStalledStream(t *testing.T) {
	stall := make(chan struct{})
	defer close(stall)
	models := vllmModels
	srv := newFake(t, models)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			w.Write([]byte(models))
			return
		}
		r.Body.Close()
		if r.Header.Get("X-Mode") == "silent" {
			select {
			case <-stall:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte(`data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}` + "\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	})
	d, err := Dial(context.Background(), Options{Endpoint: srv.URL, Timeouts: Timeouts{Idle: 20 * time.Millisecond}, Retry: Retry{Attempts: -1}})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(d, context.Background(), hi())
	var to *llm.TimeoutError
	var ie *llm.InterruptedError
	if !errors.As(c.err, &to) || to.Phase != "idle" || !errors.As(c.err, &ie) || c.text != "Hel" {
		t.Fatalf("stalled stream: text %q err %v", c.text, c.err)
	}
	var w waits
	d, err = Dial(context.Background(), Options{Endpoint: srv.URL, Headers: map[string]string{"X-Mode": "silent"},
		Timeouts: Timeouts{FirstByte: 20 * time.Millisecond}, Retry: Retry{Attempts: 1, Sleep: w.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	c = collect(d, context.Background(), hi())
	if !errors.As(c.err, &to) || to.Phase != "first byte" || errors.As(c.err, &ie) || !llm.Retryable(c.err) || len(w.got()) != 1 {
		t.Fatalf("silent server: err %v, waits %v", c.err, w.got())
	}
}

func TestDialDeadEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), Options{Endpoint: url, Retry: Retry{Attempts: -1}})
	var te *llm.TransportError
	if !errors.As(err, &te) || !llm.Retryable(err) || strings.Contains(err.Error(), "tether: ") || !strings.Contains(err.Error(), "listing models") {
		t.Fatalf("%v", err)
	}
}
