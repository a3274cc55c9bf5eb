package managed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/localserver"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
)

// faultServer returns the fault-injection server, built once.
func faultServer(t testing.TB) string {
	t.Helper()
	return testbin.Build(t, testbin.FaultServer)
}

// modelGGUF writes a metadata-only GGUF file that says its architecture
// was trained for trainedCtx tokens. The fault server never reads it; the
// driver checks and inspects it.
func modelGGUF(t testing.TB, trainedCtx uint32) string {
	t.Helper()
	w := gguf.NewWriter()
	must(t, w.Set("general.architecture", "llama"))
	must(t, w.Set("llama.context_length", trainedCtx))
	path := filepath.Join(t.TempDir(), "tiny-model.gguf")
	must(t, w.WriteFile(path))
	return path
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// onPath puts the fault server on PATH under names, alone: a test sees no
// real servers this machine may have.
func onPath(t *testing.T, names ...string) string {
	t.Helper()
	dir := testbin.InstallAs(t, faultServer(t), names...)
	t.Setenv("PATH", dir)
	return dir
}

// script writes an executable shell script named name into dir.
func script(t testing.TB, dir, name, body string) {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func launch(t *testing.T, opts Options) *Driver {
	t.Helper()
	return launchWithin(t, 30*time.Second, opts)
}

// launchWithin launches, failing the test if the server is not up within
// limit (a bound for a broken build, not a measurement), and closes the
// driver when the test ends.
func launchWithin(t *testing.T, limit time.Duration, opts Options) *Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	d, err := Launch(ctx, opts)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func ask(text string) llm.Request {
	return llm.Request{Messages: []llm.Message{llm.UserMessage(text)}}
}

// faultInfo asks the running fault server what it was started with.
func faultInfo(t *testing.T, d *Driver, envNames ...string) (argv []string, environ map[string]string) {
	t.Helper()
	info := d.Info()
	client := localserver.LoopbackClient(strings.TrimPrefix(info.Address, "unix://"))
	base := info.Address
	if strings.HasPrefix(base, "unix://") {
		base = "http://localhost"
		client = localserver.LoopbackClient(strings.TrimPrefix(info.Address, "unix://"))
	} else {
		client = localserver.LoopbackClient("")
	}
	resp, err := client.Get(base + "/fault/info?env=" + strings.Join(envNames, ","))
	must(t, err)
	defer resp.Body.Close()
	var v struct {
		Argv []string          `json:"argv"`
		Env  map[string]string `json:"env"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&v))
	return v.Argv, v.Env
}

func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("server pid %d still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLlamaServerCompleteAndClose(t *testing.T) {
	onPath(t, "llama-server")
	model := modelGGUF(t, 8192)
	d := launch(t, Options{Model: model, Backend: "llama-server", ContextWindow: 4096})

	resp, err := d.Complete(context.Background(), ask("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Hello from faultserver." || resp.StopReason != llm.StopEndTurn {
		t.Fatalf("response: %v", resp)
	}
	info := d.Info()
	if info.Backend != "llama-server" || info.Privacy != llm.Sovereign || !strings.HasPrefix(info.Address, "http://127.0.0.1:") {
		t.Fatalf("info: %+v", info)
	}
	if info.ContextWindow != 4096 || info.ContextSource != "server" {
		t.Fatalf("context window %d from %q, want 4096 from the server", info.ContextWindow, info.ContextSource)
	}
	if !strings.HasPrefix(info.Model, "tether-") {
		t.Fatalf("model %q is not a per-launch alias", info.Model)
	}
	argv, _ := faultInfo(t, d)
	for _, want := range []string{"-m", model, "--jinja", "-c", "4096", "-ngl", "999", "--alias", info.Model} {
		if !slices.Contains(argv, want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	pid := d.PID()
	must(t, d.Close())
	waitGone(t, pid)
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Complete(context.Background(), ask("hi")); !errors.Is(err, llm.ErrClosed) {
		t.Fatalf("Complete after Close: %v, want ErrClosed", err)
	}
}

// TestAPIKeyIsNeverOnTheCommandLine checks, for every backend that takes a
// key, that the key reaches the server (the launch proves it: the probe
// requires the server to refuse requests without it) through the
// environment or a file, and that no word of the server's command line
// holds it: /proc/PID/cmdline is readable by every local user.
func TestAPIKeyIsNeverOnTheCommandLine(t *testing.T) {
	model := modelGGUF(t, 2048)
	fs := faultServer(t)
	tests := []struct {
		name    string
		opts    Options
		envName string
	}{
		{"llama-server", Options{Backend: "llama-server", Profiles: backend.Options{Program: fs}}, "LLAMA_API_KEY"},
		{"vllm", Options{Backend: "vllm", Profiles: backend.Options{Program: fs}}, "VLLM_API_KEY"},
		{"tether", Options{Backend: "tether", Profiles: backendOptions(fs)}, "TETHER_API_KEY"},
		{"custom with a key file", Options{Backend: "custom", Profiles: customOptions(
			fs+" -m {model} --host {host} --port {port} --api-key-file {api_key_file} --alias {alias}", "")}, "TETHER_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Model = model
			d := launch(t, tt.opts)
			key := currentLaunch(t, d).APIKey
			if key == "" {
				t.Fatal("no per-launch key")
			}
			argv, environ := faultInfo(t, d, tt.envName)
			for _, word := range argv {
				if strings.Contains(word, key) {
					t.Fatalf("the key is on the command line: %q", argv)
				}
			}
			if environ[tt.envName] != key {
				t.Fatalf("%s = %q, want the launch's key", tt.envName, environ[tt.envName])
			}
			if _, err := d.Complete(context.Background(), ask("hi")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAprArgvIsTheSeeds(t *testing.T) {
	onPath(t, "apr")
	model := modelGGUF(t, 32768)
	d := launch(t, Options{Model: model, Backend: "apr"})
	argv, environ := faultInfo(t, d, "BATCHED_PREFILL")
	info := d.Info()
	port := info.Address[strings.LastIndex(info.Address, ":")+1:]
	want := []string{"serve", "run", model, "--port", port, "--host", "127.0.0.1", "--gpu"}
	if !slices.Equal(argv[1:], want) {
		t.Fatalf("argv %q, want %q", argv[1:], want)
	}
	if environ["BATCHED_PREFILL"] != "0" {
		t.Fatalf("BATCHED_PREFILL=%q, want 0", environ["BATCHED_PREFILL"])
	}
	// apr does not say its context window: the model file does.
	if info.ContextWindow != 32768 || info.ContextSource != "gguf" {
		t.Fatalf("context %d from %q, want 32768 from gguf", info.ContextWindow, info.ContextSource)
	}
	// Tools travel as text, as the seed sends them.
	req := ask("weather?")
	req.Tools = []llm.ToolDef{{Name: "get_weather", InputSchema: json.RawMessage(`{"type":"object"}`)}}
	if _, err := d.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func TestAutoPrefersAprThenLlamaServerThenTether(t *testing.T) {
	model := modelGGUF(t, 2048)
	for _, c := range []struct {
		installed []string
		want      string
	}{
		{[]string{"apr", "llama-server"}, "apr"},
		{[]string{"llama-server"}, "llama-server"},
		{nil, "tether"},
	} {
		t.Run(c.want, func(t *testing.T) {
			dir := onPath(t, c.installed...)
			tether := filepath.Join(dir, "tether-bin")
			must(t, os.Symlink(faultServer(t), tether))
			d := launch(t, Options{Model: model, Profiles: backendOptions(tether)})
			if got := d.Info().Backend; got != c.want {
				t.Fatalf("auto chose %s, want %s", got, c.want)
			}
			if _, err := d.Complete(context.Background(), ask("hi")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAutoMovesOnWhenAServerCannotStart(t *testing.T) {
	dir := onPath(t, "llama-server")
	script(t, dir, "apr", fmt.Sprintf("exec %s --fault-crash='error while loading shared libraries: libcuda.so.1' \"$@\"", faultServer(t)))
	var skipped []Progress
	d := launch(t, Options{Model: modelGGUF(t, 2048), OnProgress: func(p Progress) {
		if p.Err != nil {
			skipped = append(skipped, p)
		}
	}})
	if got := d.Info().Backend; got != "llama-server" {
		t.Fatalf("auto ended on %s, want llama-server", got)
	}
	var exited *llm.ServerExitedError
	if len(skipped) != 1 || skipped[0].Backend != "apr" || !errors.As(skipped[0].Err, &exited) || exited.Cause != llm.CauseMissingLibrary {
		t.Fatalf("skipped %+v, want apr with a missing-library crash", skipped)
	}
}

func TestAutoStopsAtABadModel(t *testing.T) {
	dir := onPath(t, "llama-server")
	script(t, dir, "apr", fmt.Sprintf("exec %s --fault-crash='llama_model_load: error loading model: invalid magic' \"$@\"", faultServer(t)))
	_, err := Launch(context.Background(), Options{Model: modelGGUF(t, 2048)})
	var exited *llm.ServerExitedError
	if !errors.As(err, &exited) || exited.Cause != llm.CauseBadModel || exited.Backend != "apr" {
		t.Fatalf("err = %v, want apr's bad-model exit (no fallback)", err)
	}
}

func TestModelFileProblems(t *testing.T) {
	onPath(t, "llama-server")
	corrupt := filepath.Join(t.TempDir(), "corrupt.gguf")
	must(t, os.WriteFile(corrupt, []byte("GGUF\x03\x00\x00\x00truncated"), 0o644))
	notGGUF := filepath.Join(t.TempDir(), "model.gguf")
	must(t, os.WriteFile(notGGUF, []byte("<html>not a model</html>"), 0o644))
	for name, path := range map[string]string{
		"missing":  filepath.Join(t.TempDir(), "nope.gguf"),
		"corrupt":  corrupt,
		"not gguf": notGGUF,
		"empty":    "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Launch(context.Background(), Options{Model: path, Backend: "llama-server"})
			var mf *llm.ModelFileError
			if !errors.As(err, &mf) {
				t.Fatalf("err = %v, want *llm.ModelFileError", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Launch(context.Background(), Options{Model: modelGGUF(t, 2048), Backend: "llama-server"})
	var nf *llm.BinaryNotFoundError
	if !errors.As(err, &nf) || nf.Name != "llama-server" || nf.Hint == "" {
		t.Fatalf("err = %v, want llama-server not found with a hint", err)
	}
}

func TestServerDeathIsExplainedAndRestarted(t *testing.T) {
	dir := onPath(t)
	// The first server crashes in the middle of its first answer; the
	// restarted one is healthy.
	marker := filepath.Join(t.TempDir(), "crashed-once")
	script(t, dir, "llama-server", fmt.Sprintf(`if [ -e %[1]s ]; then exec %[2]s "$@"; fi
touch %[1]s
exec %[2]s --fault-crash-mid-stream=2 --fault-crash='CUDA error: out of memory' "$@"`, marker, faultServer(t)))
	d := launch(t, Options{Model: modelGGUF(t, 2048), Backend: "llama-server", Restart: true})

	var err error
	for _, e := range d.Stream(context.Background(), ask("hi")) {
		if e != nil {
			err = e
		}
	}
	var exited *llm.ServerExitedError
	if !errors.As(err, &exited) || exited.DuringStartup || exited.Cause != llm.CauseOutOfMemory {
		t.Fatalf("mid-stream crash gave %v, want a classified ServerExitedError while serving", err)
	}
	if !llm.Retryable(err) {
		t.Fatal("a server death while serving should be retryable with Restart")
	}
	resp, err := d.Complete(context.Background(), ask("again"))
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if resp.Text == "" || d.Launches() != 2 {
		t.Fatalf("resp %v after %d launches, want an answer from a second server", resp, d.Launches())
	}
}

func TestDeadServerWithoutRestartFailsFast(t *testing.T) {
	onPath(t, "llama-server")
	d := launch(t, Options{Model: modelGGUF(t, 2048), Backend: "llama-server"})
	proc, _ := d.servers.current()
	must(t, syscall.Kill(proc.proc.PID(), syscall.SIGKILL))
	<-proc.Done()
	_, err := d.Complete(context.Background(), ask("hi"))
	var exited *llm.ServerExitedError
	if !errors.As(err, &exited) || exited.Signal == "" {
		t.Fatalf("err = %v, want the server's death by signal", err)
	}
}

func TestOverridesShapeRequests(t *testing.T) {
	onPath(t, "llama-server")
	ov, err := OverridesFromEnv(env(map[string]string{EnvMaxTokensCap: "2"}))
	must(t, err)
	var log bytes.Buffer
	d := launch(t, Options{Model: modelGGUF(t, 2048), Backend: "llama-server", Overrides: &ov,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	resp, err := d.Complete(context.Background(), llm.Request{MaxTokens: 500, Messages: []llm.Message{llm.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != llm.StopMaxTokens || resp.Usage.OutputTokens != 2 {
		t.Fatalf("with a cap of 2: %v usage %+v", resp, resp.Usage)
	}
	if !strings.Contains(log.String(), "lowered max_tokens") || !strings.Contains(log.String(), "asked=500") {
		t.Errorf("the cap lowered max_tokens silently; log:\n%s", log.String())
	}
}

// TestNoOverridesSendsTheRequestAsAsked: a library caller without
// Overrides gets no operator policy, whatever the environment says.
func TestNoOverridesSendsTheRequestAsAsked(t *testing.T) {
	onPath(t, "llama-server")
	t.Setenv(EnvMaxTokensCap, "2")
	d := launch(t, Options{Model: modelGGUF(t, 2048), Backend: "llama-server"})
	resp, err := d.Complete(context.Background(), llm.Request{MaxTokens: 3, Messages: []llm.Message{llm.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.OutputTokens != 3 {
		t.Fatalf("max_tokens 3 gave %d tokens: the environment's cap was applied", resp.Usage.OutputTokens)
	}
}

func TestInvalidOverrideIsReported(t *testing.T) {
	onPath(t, "llama-server")
	for name, value := range map[string]string{
		EnvMaxTokensCap: "lots", EnvTemperature: "-1", EnvTopP: "1.5", EnvTopK: "x",
		EnvRepeatPenalty: "0", EnvRepeatLastN: "-2", EnvSeed: "1.5", EnvHTTPTimeout: "0",
		EnvReadyTimeout: "soon",
	} {
		_, err := OverridesFromEnv(env(map[string]string{name: value}))
		var ce *llm.ConfigError
		if !errors.As(err, &ce) || ce.Setting != name {
			t.Errorf("%s=%s: err = %v, want a ConfigError naming it", name, value, err)
		}
	}
}

func TestCustomCommand(t *testing.T) {
	model := modelGGUF(t, 2048)
	fs := faultServer(t)
	d := launch(t, Options{Model: model, Backend: "custom", Profiles: customOptions(
		fs+" serve {model} --host {host} --port {port} --api-key {api_key} --served-model-name {alias} --max-model-len 3000", "")})
	if _, err := d.Complete(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	if info := d.Info(); info.ContextWindow != 3000 || info.Backend != "custom" {
		t.Fatalf("info %+v", info)
	}
}

func TestTetherBackendUsesAUnixSocket(t *testing.T) {
	model := modelGGUF(t, 2048)
	d := launch(t, Options{Model: model, Backend: "tether", Profiles: backendOptions(faultServer(t))})
	if !strings.HasPrefix(d.Info().Address, "unix://") {
		t.Fatalf("address %q is not a unix socket", d.Info().Address)
	}
	if _, err := d.Complete(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	sock := strings.TrimPrefix(d.Info().Address, "unix://")
	must(t, d.Close())
	if _, err := os.Stat(filepath.Dir(sock)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket directory left behind: %v", err)
	}
}

func TestStartupProgressIsReported(t *testing.T) {
	dir := onPath(t)
	script(t, dir, "llama-server", fmt.Sprintf(`exec %s --fault-load=300ms --fault-steps=3 "$@"`, faultServer(t)))
	var states []string
	d := launch(t, Options{Model: modelGGUF(t, 2048), Backend: "llama-server", OnProgress: func(p Progress) {
		states = append(states, string(p.Stage))
	}})
	_ = d
	if !slices.Contains(states, "loading") || states[len(states)-1] != "ready" {
		t.Fatalf("states %q, want loading … ready", states)
	}
}

func TestCancelDuringStartupStopsTheServer(t *testing.T) {
	dir := onPath(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	script(t, dir, "llama-server", fmt.Sprintf(`echo $$ > %s; exec %s --fault-load=1h "$@"`, pidFile, faultServer(t)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Launch(ctx, Options{Model: modelGGUF(t, 2048), Backend: "llama-server",
			OnProgress: func(p Progress) {
				if p.Stage == StageLoading {
					cancel()
				}
			}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Launch did not return after cancel")
	}
	data, err := os.ReadFile(pidFile)
	must(t, err)
	var pid int
	fmt.Sscan(string(data), &pid)
	waitGone(t, pid)
}

func TestContextWindowSources(t *testing.T) {
	server := func(n int) func(context.Context, backend.Server) (int, bool) {
		return func(context.Context, backend.Server) (int, bool) { return n, n > 0 }
	}
	for _, c := range []struct {
		name       string
		probe      func(context.Context, backend.Server) (int, bool)
		sets       bool
		caller     int
		trained    int
		want       int
		wantSource string
	}{
		{"server wins", server(8192), true, 4096, 32768, 8192, "server"},
		{"asked of the server", server(0), true, 4096, 32768, 4096, "caller"},
		{"not asked: the file", nil, false, 4096, 32768, 32768, "gguf"},
		{"nothing else: the caller", nil, false, 4096, 0, 4096, "caller"},
		{"nobody knows", nil, false, 0, 0, 0, "unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := &launcher{
				opts:    Options{ContextWindow: c.caller},
				profile: backend.Profile{ContextWindow: c.probe, SetsContext: c.sets},
				model:   modelFile{trainedContext: c.trained},
			}
			n, src := l.contextWindow(context.Background(), backend.Server{})
			if n != c.want || src != c.wantSource {
				t.Fatalf("got %d from %s, want %d from %s", n, src, c.want, c.wantSource)
			}
		})
	}
}

// A server stuck loading that logs every readiness probe, as tether serve
// does, ends with the typed start-up timeout under the operator's budget:
// the probes' echoes are not progress. (The context bounds the test; a
// start-up that never times out ends with the context's error instead.)
func TestStuckServerThatLogsProbesTimesOut(t *testing.T) {
	model := modelGGUF(t, 2048)
	fs := faultServer(t)
	dir := t.TempDir()
	script(t, dir, "stuck", fmt.Sprintf(`exec %s --fault-load=1h --fault-no-progress "$@"`, fs))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Launch(ctx, Options{Model: model, Backend: "tether", Profiles: backendOptions(filepath.Join(dir, "stuck")),
		Overrides: &Overrides{ReadyTimeout: time.Second}})
	var te *llm.StartupTimeoutError
	if !errors.As(err, &te) || te.Budget != time.Second {
		t.Fatalf("Launch: %v, want a start-up timeout of 1s", err)
	}
	if !strings.Contains(te.LogTail, "GET /health") {
		t.Fatalf("the server did not log the probes, the test proves nothing: %q", te.LogTail)
	}
}

// A model path that is a FIFO is refused before anything reads it: reading
// it would block until someone writes to it.
func TestModelThatIsAFIFOIsRefused(t *testing.T) {
	onPath(t, "llama-server")
	fifo := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	_, err := Launch(context.Background(), Options{Model: fifo, Backend: "llama-server"})
	var mf *llm.ModelFileError
	if !errors.As(err, &mf) || !strings.Contains(mf.Error(), "not a regular file") {
		t.Fatalf("Launch: %v, want a model file error", err)
	}
}
