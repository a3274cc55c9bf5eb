package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testbin"
)

// running is a faultserver started by a test.
type running struct {
	base   string
	client *http.Client
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *strings.Builder
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the fault server with args and waits until /health answers.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	bin := testbin.Build(t, testbin.FaultServer)
	r := &running{client: &http.Client{Transport: &http.Transport{Proxy: nil}}, exited: make(chan struct{}), stderr: &strings.Builder{}}
	socket := ""
	for i, a := range args {
		if a == "--host" && strings.HasSuffix(args[i+1], ".sock") {
			socket = args[i+1]
		}
	}
	if socket != "" {
		r.base = "http://localhost"
		r.client.Transport = &http.Transport{Proxy: nil, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}
	} else {
		port := freePort(t)
		args = append(args, "--port", strconv.Itoa(port))
		r.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	r.cmd = exec.Command(bin, append(args, "--fault-max-life=1m")...)
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		io.Copy(r.stderr, pipe) // the builder is read only after exited closes
		r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := r.client.Get(r.base + "/health")
		if err == nil {
			resp.Body.Close()
			return r
		}
		select {
		case <-r.exited:
			t.Fatalf("fault server exited: %s", r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("fault server never answered: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *running) do(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady polls until /health is 200.
func (r *running) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := r.do(t, "GET", "/health", "", ""); code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const chatBody = `{"messages":[{"role":"user","content":"hi"}]}`
const streamBody = `{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`

func TestLoadingThenReadyWithAuth(t *testing.T) {
	r := start(t, "-m", "/models/Tiny-Q4.gguf", "--api-key", "sekrit", "--alias", "nonce-1", "--fault-load=400ms", "--fault-steps=4")
	code, body := r.do(t, "GET", "/health", "", "")
	if code != 503 || !strings.Contains(body, `"message":"Loading model"`) || !strings.Contains(body, `"progress"`) {
		t.Fatalf("health while loading: %d %s", code, body)
	}
	if code, _ := r.do(t, "GET", "/v1/models", "", ""); code != 503 {
		t.Fatalf("models while loading: %d, want 503", code)
	}
	r.waitReady(t)
	if code, body := r.do(t, "GET", "/health", "", ""); code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("health when ready: %d %s", code, body)
	}
	_, body = r.do(t, "GET", "/v1/models", "", "")
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
			Meta        struct {
				NCtxTrain int `json:"n_ctx_train"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &models); err != nil || len(models.Data) != 1 || models.Data[0].ID != "nonce-1" || models.Data[0].Meta.NCtxTrain != 32768 {
		t.Fatalf("models: %s (%v)", body, err)
	}
	if code, _ := r.do(t, "GET", "/props", "", ""); code != 401 {
		t.Fatalf("props without key: %d, want 401", code)
	}
	if code, _ := r.do(t, "POST", "/v1/chat/completions", "wrong", chatBody); code != 401 {
		t.Fatalf("chat with wrong key: %d, want 401", code)
	}
	code, body = r.do(t, "GET", "/props", "sekrit", "")
	if code != 200 || !strings.Contains(body, `"n_ctx":32768`) {
		t.Fatalf("props: %d %s", code, body)
	}
}

// events reads an SSE body into its data payloads.
func events(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("bad chunk %q: %v", data, err)
		}
		out = append(out, v)
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream does not end with [DONE]: %q", body)
	}
	return out
}

// collect joins the streamed deltas' fields.
func collect(evs []map[string]any) (content, reasoning, reasoningOllama string, args map[float64]string, names map[float64]string, finish string, usage bool) {
	args, names = map[float64]string{}, map[float64]string{}
	for _, ev := range evs {
		if _, ok := ev["usage"]; ok {
			usage = true
		}
		for _, c := range ev["choices"].([]any) {
			ch := c.(map[string]any)
			if f, ok := ch["finish_reason"].(string); ok {
				finish = f
			}
			d := ch["delta"].(map[string]any)
			s, _ := d["content"].(string)
			content += s
			s, _ = d["reasoning_content"].(string)
			reasoning += s
			s, _ = d["reasoning"].(string)
			reasoningOllama += s
			calls, _ := d["tool_calls"].([]any)
			for _, tc := range calls {
				m := tc.(map[string]any)
				i := m["index"].(float64)
				fn := m["function"].(map[string]any)
				if n, ok := fn["name"].(string); ok {
					names[i] = n
				}
				a, _ := fn["arguments"].(string)
				args[i] += a
			}
		}
	}
	return
}

func TestStreamingShapes(t *testing.T) {
	tests := []struct {
		name                              string
		args                              []string
		content, reasoning, ollama, final string
		calls                             map[float64]string
	}{
		{
			name: "plain", content: "Hello from faultserver.", final: "stop",
		},
		{
			name: "reasoning_content", args: []string{"--fault-reasoning=Think hard."},
			content: "Hello from faultserver.", reasoning: "Think hard.", final: "stop",
		},
		{
			name: "ollama reasoning", args: []string{"--fault-reasoning=Think hard.", "--fault-reasoning-format=ollama"},
			content: "Hello from faultserver.", ollama: "Think hard.", final: "stop",
		},
		{
			name: "inline think", args: []string{"--fault-reasoning=Think hard.", "--fault-reasoning-format=think"},
			content: "<think>Think hard.</think>Hello from faultserver.", final: "stop",
		},
		{
			name: "bare close", args: []string{"--fault-reasoning=Think hard.", "--fault-reasoning-format=bare"},
			content: "Think hard.</think>Hello from faultserver.", final: "stop",
		},
		{
			name: "parallel tool calls", args: []string{"--fault-answer=", "--fault-tool-calls", `[{"name":"glob","arguments":{"pattern":"*.go"}},{"name":"read","arguments":{"path":"ü.go"}}]`},
			final: "tool_calls", calls: map[float64]string{0: `glob{"pattern":"*.go"}`, 1: `read{"path":"ü.go"}`},
		},
		{
			name: "pings", args: []string{"--fault-sse-pings"}, content: "Hello from faultserver.", final: "stop",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, append([]string{"-m", "m.gguf"}, tt.args...)...)
			r.waitReady(t)
			_, body := r.do(t, "POST", "/v1/chat/completions", "", streamBody)
			content, reasoning, ollama, args, names, finish, usage := collect(events(t, body))
			if content != tt.content || reasoning != tt.reasoning || ollama != tt.ollama || finish != tt.final || !usage {
				t.Errorf("content %q reasoning %q ollama %q finish %q usage %t", content, reasoning, ollama, finish, usage)
			}
			for i, want := range tt.calls {
				if got := names[i] + args[i]; got != want {
					t.Errorf("call %v: %q, want %q", i, got, want)
				}
			}
			if len(names) != len(tt.calls) {
				t.Errorf("%d calls, want %d", len(names), len(tt.calls))
			}
		})
	}
}

func TestNonStreamingEchoAndMaxTokens(t *testing.T) {
	r := start(t, "-m", "m.gguf", "--fault-echo")
	r.waitReady(t)
	_, body := r.do(t, "POST", "/v1/chat/completions", "", `{"messages":[{"role":"user","content":"one two three four"}],"max_tokens":2}`)
	var resp struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0]; c.Message.Content != "one two" || c.FinishReason != "length" || resp.Usage.CompletionTokens != 2 {
		t.Fatalf("got %s", body)
	}
	if code, _ := r.do(t, "POST", "/v1/chat/completions", "", `{"messages":`); code != 400 {
		t.Fatalf("bad JSON: %d, want 400", code)
	}
}

func TestCrashMidStream(t *testing.T) {
	r := start(t, "-m", "m.gguf", "--fault-crash-mid-stream=2", "--fault-crash=GGML_ASSERT(n_tokens > 0) failed", "--fault-crash-code=134")
	r.waitReady(t)
	resp, err := r.client.Post(r.base+"/v1/chat/completions", "application/json", strings.NewReader(streamBody))
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "[DONE]") {
			t.Fatalf("stream completed: %q", body)
		}
	}
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not crash")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 134 {
		t.Errorf("exit code %d, want 134", code)
	}
	if !strings.Contains(r.stderr.String(), "GGML_ASSERT") {
		t.Errorf("stderr lacks the crash line: %q", r.stderr.String())
	}
}

func TestHangChatAndSquat(t *testing.T) {
	t.Run("hang chat", func(t *testing.T) {
		r := start(t, "-m", "m.gguf", "--fault-hang=chat")
		r.waitReady(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", r.base+"/v1/chat/completions", strings.NewReader(chatBody))
		if _, err := r.client.Do(req); err == nil {
			t.Fatal("a hung chat answered")
		}
	})
	t.Run("squat", func(t *testing.T) {
		r := start(t, "-m", "m.gguf", "--fault-squat", "--api-key", "k")
		for _, path := range []string{"/health", "/props", "/anything"} {
			if code, _ := r.do(t, "GET", path, "", ""); code != 200 {
				t.Errorf("%s: %d, want 200", path, code)
			}
		}
		if _, body := r.do(t, "GET", "/v1/models", "", ""); !strings.Contains(body, `"squatter"`) {
			t.Errorf("models: %s", body)
		}
	})
}

func TestUnixSocketAndReadyFile(t *testing.T) {
	dir, err := os.MkdirTemp("", "fs-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock, stamp := filepath.Join(dir, "s.sock"), filepath.Join(dir, "ready")
	before := time.Now().UnixNano()
	r := start(t, "serve", "run", "m.apr", "--host", sock, "--fault-ready-file", stamp, "--fault-load=100ms")
	r.waitReady(t)
	b, err := os.ReadFile(stamp)
	if err != nil {
		t.Fatal(err)
	}
	at, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || at < before || at > time.Now().UnixNano() {
		t.Fatalf("ready stamp %q (%v) not between start and now", b, err)
	}
}
