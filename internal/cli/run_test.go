package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/testbin"
)

// tether runs the command line in process and returns its exit code and
// output.
func tether(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(ctx, args, streams{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// fakeServers puts the fault server on PATH as llama-server (and under
// any other names given as scripts: name → extra flags).
func fakeServers(t *testing.T, scripts map[string]string) {
	t.Helper()
	fs := testbin.Build(t, testbin.FaultServer)
	dir := testbin.InstallAs(t, fs, "llama-server")
	for name, flags := range scripts {
		body := fmt.Sprintf("#!/bin/sh\nexec %s %s \"$@\"\n", fs, flags)
		os.Remove(filepath.Join(dir, name)) // never write through the symlink
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	for _, k := range []string{"APR_AGENT_MAX_TOKENS_CAP", "APR_SERVE_READY_TIMEOUT_S", "APR_AGENT_TEMPERATURE"} {
		t.Setenv(k, "")
	}
}

func tinyModel(t *testing.T) string {
	t.Helper()
	w := gguf.NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.context_length", uint32(2048))
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunStreamsTheAnswer(t *testing.T) {
	fakeServers(t, nil)
	code, out, errs := tether(t, context.Background(), "run", "--model", tinyModel(t), "--backend", "llama-server", "say", "hi")
	if code != ExitOK || out != "Hello from faultserver.\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if !strings.Contains(errs, "llama-server ready in") || !strings.Contains(errs, "end_turn") {
		t.Fatalf("stderr lacks progress or summary: %q", errs)
	}
}

func TestRunJSON(t *testing.T) {
	fakeServers(t, map[string]string{"llama-server": `--fault-reasoning='weighing it' --fault-tool-calls='[{"name":"get_weather","arguments":{"city":"Paris"}}]'`})
	tools := filepath.Join(t.TempDir(), "tools.json")
	os.WriteFile(tools, []byte(`[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`), 0o644)
	code, out, errs := tether(t, context.Background(), "run", "-q", "--json", "--model", tinyModel(t), "--backend", "llama-server",
		"--tools", tools, "--system", "be brief", "weather in Paris?")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, key := range []string{"text", "reasoning", "tool_calls", "stop_reason", "usage", "timings", "backend", "model", "context_window"} {
		if _, ok := res[key]; !ok {
			t.Errorf("result lacks %q: %s", key, out)
		}
	}
	calls, _ := res["tool_calls"].([]any)
	if res["backend"] != "llama-server" || res["context_window"].(float64) != 32768 || res["reasoning"] != "weighing it" ||
		len(calls) != 1 || res["stop_reason"] != "tool_use" {
		t.Fatalf("result %s", out)
	}
}

func TestRunExitCodes(t *testing.T) {
	fakeServers(t, map[string]string{
		"apr":          `--fault-crash='error loading model: invalid magic'`,
		"vllm":         `--fault-crash='cudaMalloc failed: out of memory'`,
		"model-server": `--fault-crash='bad model file'`,
	})
	model := tinyModel(t)
	badTools := filepath.Join(t.TempDir(), "tools.json")
	os.WriteFile(badTools, []byte(`{"not":"an array"}`), 0o644)
	for _, c := range []struct {
		name string
		args []string
		want int
		says string
	}{
		{"no prompt", []string{"run", "--model", model}, ExitUsage, "no prompt"},
		{"no model", []string{"run", "hi"}, ExitUsage, "no model"},
		{"bad flag", []string{"run", "--bogus", "hi"}, ExitUsage, "unknown flag"},
		{"bad backend", []string{"run", "--model", model, "--backend", "llamafile", "hi"}, ExitUsage, "unknown backend"},
		{"custom without cmd", []string{"run", "--model", model, "--backend", "custom", "hi"}, ExitUsage, "--server-cmd"},
		{"missing model", []string{"run", "--model", "/nonexistent.gguf", "hi"}, ExitModel, "no such file"},
		{"bad tools", []string{"run", "--model", model, "--tools", badTools, "hi"}, ExitModel, "tools"},
		{"server missing", []string{"run", "--model", model, "--backend", "ollama", "hi"}, ExitServerStart, "ollama not found"},
		{"server refuses the model", []string{"run", "--model", model, "--backend", "apr", "hi"}, ExitModel, "invalid magic"},
		{"custom server refuses the model", []string{"run", "--model", model, "--backend", "custom",
			"--server-cmd", "model-server --port {port} -m {model}", "hi"}, ExitModel, "bad model file"},
		{"server crash", []string{"run", "--model", model, "--backend", "vllm", "hi"}, ExitServerStart, "out of memory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := tether(t, context.Background(), c.args...)
			if code != c.want || !strings.Contains(errs, c.says) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, c.want, errs, c.says)
			}
		})
	}
}

func TestRunRequestFailureExitCode(t *testing.T) {
	fakeServers(t, map[string]string{"apr": `--fault-crash-mid-stream=2 --fault-crash='Segmentation fault'`})
	code, _, errs := tether(t, context.Background(), "run", "--model", tinyModel(t), "--backend", "apr", "hi")
	if code != ExitRequestFailed || !strings.Contains(errs, "while serving") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestRunInterruptStopsTheServer(t *testing.T) {
	fakeServers(t, map[string]string{"apr": `--fault-chunk-delay=1s --fault-answer='one two three four five'`})
	ctx, cancel := context.WithCancel(context.Background())
	// Ctrl-C as soon as the answer starts to arrive.
	out := writerFunc(func(p []byte) (int, error) { cancel(); return len(p), nil })
	var errb bytes.Buffer
	start := time.Now()
	code := Run(ctx, []string{"run", "--model", tinyModel(t), "--backend", "apr", "hi"}, streams{in: strings.NewReader(""), out: out, err: &errb})
	if code != ExitInterrupted {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("interrupt took %s", took)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
