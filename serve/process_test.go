//go:build unix

package serve

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// process is a running `tether serve run`.
type process struct {
	cmd    *exec.Cmd
	lines  chan string // its standard error, line by line
	stderr []string
	url    string
}

// startProcess runs the real tether binary with args after "serve run
// MODEL" and waits for its listening line.
func startProcess(t *testing.T, model string, args ...string) *process {
	t.Helper()
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	cmd := exec.Command(bin, append([]string{"serve", "run", model}, args...)...)
	cmd.Env = append(os.Environ(), "TETHER_API_KEY=")
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line := p.waitLine(t, "tether serve: listening on ")
	rest := strings.TrimPrefix(line, "tether serve: listening on ")
	p.url, _, _ = strings.Cut(rest, ";")
	return p
}

// waitLine reads standard error until a line starts with prefix.
func (p *process) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("the server's output ended before %q:\n%s", prefix, strings.Join(p.stderr, "\n"))
			}
			p.stderr = append(p.stderr, l)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line %q in 60s:\n%s", prefix, strings.Join(p.stderr, "\n"))
		}
	}
}

// wait waits for the process to exit and returns its exit code and the
// rest of its output.
func (p *process) wait(t *testing.T) (int, string) {
	t.Helper()
	for l := range p.lines {
		p.stderr = append(p.stderr, l)
	}
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return p.cmd.ProcessState.ExitCode(), strings.Join(p.stderr, "\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestProcessSIGTERMMidStream runs the real binary with the seed's argv
// (serve run MODEL --port P --host 127.0.0.1 --gpu): /health goes from
// 503 to 200, a stream in flight when SIGTERM arrives finishes with
// [DONE], no new connection is accepted, and the exit status is 0.
func TestProcessSIGTERMMidStream(t *testing.T) {
	model := synthModel(t, synth.ArchQwen2, false)
	port := freePort(t)
	p := startProcess(t, model, "--port", strconv.Itoa(port), "--host", "127.0.0.1", "--gpu")
	if p.url != "http://127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("listening on %q, want port %d", p.url, port)
	}
	// Until the ready line, /health may only say "loading".
	ready := make(chan string, 1)
	go func() { ready <- p.waitLine(t, "tether serve: ready") }()
	var seen []int
	for done := false; !done; {
		select {
		case line := <-ready:
			if !strings.Contains(line, "listening on "+p.url) || !strings.Contains(line, "model synth-qwen2") {
				t.Errorf("ready line %q", line)
			}
			done = true
		default:
			if resp, err := http.Get(p.url + "/health"); err == nil {
				resp.Body.Close()
				if len(seen) == 0 || seen[len(seen)-1] != resp.StatusCode {
					seen = append(seen, resp.StatusCode)
				}
			}
		}
	}
	resp, err := http.Get(p.url + "/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/health after the ready line: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, code := range seen {
		if code != http.StatusServiceUnavailable && code != http.StatusOK {
			t.Errorf("/health answered %d during start-up (seen %v)", code, seen)
		}
	}
	t.Logf("/health during start-up: %v", seen)

	ts := &testServer{url: p.url}
	lines, _ := ts.sseLines(t, context.Background(), "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": 1000, "ignore_eos": true}), "")
	for l := range lines {
		if strings.Contains(l, `"content":"`) && !strings.Contains(l, `"role"`) {
			break // generating
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if lastData(rest) != "data: [DONE]" {
		t.Errorf("the stream in flight at SIGTERM ended with %q", lastData(rest))
	}
	code, out := p.wait(t)
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", code, out)
	}
	if !strings.Contains(out, "in_flight=1") {
		t.Errorf("the stream was not in flight when the shutdown began:\n%s", out)
	}
	if strings.Count(out, "--gpu ignored") != 1 || !strings.Contains(out, "tether serve: stopped") {
		t.Errorf("output:\n%s", out)
	}
	if strings.Contains(out, "hello there") {
		t.Errorf("request content in the log:\n%s", out)
	}
	if _, err := http.Get(p.url + "/health"); err == nil {
		t.Errorf("the port still answers after exit")
	}
}

// TestProcessUnixSocket runs the binary on a unix socket, as the managed
// driver launches it, and stops it with SIGINT.
func TestProcessUnixSocket(t *testing.T) {
	model := synthModel(t, synth.ArchQwen2, false)
	sock := filepath.Join(t.TempDir(), "tether.sock")
	p := startProcess(t, model, "--host", sock, "--api-key", "k", "--alias", "nonce-123", "--ctx", "256", "--threads", "1", "--parallel", "2")
	if p.url != "unix://"+sock {
		t.Fatalf("listening on %q", p.url)
	}
	p.waitLine(t, "tether serve: ready")
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket %v, %v: want mode 0600", st, err)
	}
	c, err := openai.New(openai.Options{BaseURL: p.url, APIKey: "k", Model: "nonce-123"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	models, err := c.Models(context.Background())
	if err != nil || len(models) != 1 || models[0].ID != "nonce-123" || models[0].ContextLength != 256 {
		t.Errorf("models %+v %v", models, err)
	}
	r, err := c.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxTokens: 4})
	if err != nil || r.Usage.OutputTokens == 0 {
		t.Errorf("Complete: %v %v", r, err)
	}
	noKey, _ := openai.New(openai.Options{BaseURL: p.url})
	defer noKey.Close()
	if _, err := noKey.Get(context.Background(), "/props"); err == nil {
		t.Errorf("/props answered without the key")
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	if code, out := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGINT:\n%s", code, out)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket file is left behind: %v", err)
	}
}

// TestProcessBadModel checks the exit status and message for a file that
// is not a model.
func TestProcessBadModel(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, []byte("not a gguf file at all"), 0o600)
	p := startProcess(t, bad, "--port", "0")
	code, out := p.wait(t)
	if code != 3 || !strings.Contains(out, "bad.gguf") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
