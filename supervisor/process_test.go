//go:build unix

package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/localserver"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
)

func TestLaunchWalksTheStatesAndProvesOwnership(t *testing.T) {
	f := faultServer(t, "--fault-load=300ms", "--fault-steps=3")
	var ev events
	f.cfg.OnState = ev.record
	p := f.launch(t)
	if p.State() != StateReady {
		t.Fatalf("state %v after Launch, want ready", p.State())
	}
	got := ev.list()
	if len(got) < 3 || got[0].State != StateSpawned || got[len(got)-1].State != StateReady {
		t.Fatalf("events %+v: want spawned first and ready last", got)
	}
	var sawProgress float64
	for i, e := range got {
		if i > 0 && e.State < got[i-1].State {
			t.Fatalf("state went back from %v to %v: %+v", got[i-1].State, e.State, got)
		}
		if e.State == StateLoading && e.Progress > 0 {
			if e.Progress < sawProgress {
				t.Fatalf("progress went back: %+v", got)
			}
			sawProgress = e.Progress
		}
	}
	if sawProgress == 0 {
		t.Fatalf("no loading progress reported: %+v", got)
	}
	code, body, err := f.get(context.Background(), "/v1/models")
	if err != nil || code != 200 || !strings.Contains(string(body), f.alias) {
		t.Fatalf("/v1/models: %d %s %v", code, body, err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.State() != StateStopped || p.ExitErr() != nil {
		t.Fatalf("after Stop: state %v, ExitErr %v", p.State(), p.ExitErr())
	}
	if !strings.Contains(p.Tail(), "main: model loaded") {
		t.Fatalf("tail lacks the server's log:\n%s", p.Tail())
	}
}

func TestCrashAtStartIsClassifiedWithItsOutput(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		code   int
		signal string
		want   llm.ExitCause
	}{
		{"out of memory", "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 8192.00 MiB on device 0: cudaMalloc failed: out of memory", 1, "", llm.CauseOutOfMemory},
		{"bad model", "gguf_init_from_file_impl: invalid magic characters: 'PK', expected 'GGUF'\nllama_model_load: error loading model: invalid magic", 1, "", llm.CauseBadModel},
		{"missing library", "llama-server: error while loading shared libraries: libcuda.so.1: cannot open shared object file: No such file or directory", 127, "", llm.CauseMissingLibrary},
		{"port in use", "listen tcp 127.0.0.1:8080: bind: address already in use", 1, "", llm.CausePortInUse},
		{"unknown", "something odd happened", 3, "", llm.CauseUnknown},
		{"killed by a signal", "GGML_ASSERT(ctx) failed", 0, "KILL", llm.CauseUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--fault-crash=" + tt.line, "--fault-crash-code=" + strconv.Itoa(tt.code)}
			if tt.signal != "" {
				args = append(args, "--fault-crash-signal="+tt.signal)
			}
			f := faultServer(t, args...)
			start := time.Now()
			_, err := Launch(context.Background(), f.cfg)
			elapsed := time.Since(start)
			var sx *llm.ServerExitedError
			if !errors.As(err, &sx) {
				t.Fatalf("Launch error %v (%T), want *llm.ServerExitedError", err, err)
			}
			if elapsed > promptly {
				t.Errorf("crash reported after %v, want under %v", elapsed, promptly)
			}
			if !sx.DuringStartup || sx.Cause != tt.want || sx.Retryable() {
				t.Errorf("got %+v, want cause %v during startup", sx, tt.want)
			}
			if tt.signal != "" {
				if sx.ExitCode != -1 || sx.Signal != "killed" {
					t.Errorf("exit %d signal %q, want -1 killed", sx.ExitCode, sx.Signal)
				}
			} else if sx.ExitCode != tt.code {
				t.Errorf("exit code %d, want %d", sx.ExitCode, tt.code)
			}
			lastLine := tt.line[strings.LastIndexByte(tt.line, '\n')+1:]
			if !strings.Contains(sx.LogTail, lastLine) || !strings.Contains(err.Error(), lastLine) {
				t.Errorf("the error lacks the server's last words %q:\n%v", lastLine, err)
			}
			if strings.Contains(err.Error(), f.key) {
				t.Errorf("the error shows the API key")
			}
		})
	}
}

// TestExitCausesDecideTheCause: a server that documents an exit status
// (tether serve: 3, a model file it refuses) is classified by it even
// when its words are unknown; other statuses and signals still go by the
// words.
func TestExitCausesDecideTheCause(t *testing.T) {
	causes := map[int]llm.ExitCause{3: llm.CauseBadModel}
	for _, tt := range []struct {
		name string
		args []string
		want llm.ExitCause
	}{
		{"documented status", []string{"--fault-crash=tether: model m.gguf: qwen2.block_count 100000000 needs at least 900000002 tensors", "--fault-crash-code=3"}, llm.CauseBadModel},
		{"documented status, other words", []string{"--fault-crash=listen tcp 127.0.0.1:8080: bind: address already in use", "--fault-crash-code=3"}, llm.CauseBadModel},
		{"another status", []string{"--fault-crash=something odd happened", "--fault-crash-code=4"}, llm.CauseUnknown},
		{"a signal", []string{"--fault-crash=something odd happened", "--fault-crash-signal=KILL"}, llm.CauseUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := faultServer(t, tt.args...)
			cfg := f.cfg
			cfg.ExitCauses = causes
			_, err := Launch(context.Background(), cfg)
			var sx *llm.ServerExitedError
			if !errors.As(err, &sx) || sx.Cause != tt.want {
				t.Fatalf("Launch error %v; want a *llm.ServerExitedError with cause %v", err, tt.want)
			}
		})
	}
}

func TestExitWhileServingIsNoticedAtOnce(t *testing.T) {
	// The median of three, so that one moment of a starved machine does
	// not decide.
	var latencies []time.Duration
	for range 3 {
		stamp := filepath.Join(t.TempDir(), "exit")
		f := faultServer(t, "--fault-crash-after=300ms", "--fault-crash=CUDA error: an illegal memory access was encountered",
			"--fault-crash-code=134", "--fault-exit-file="+stamp)
		p := f.launch(t)
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("exit not noticed")
		}
		noticed := time.Now()
		b, err := os.ReadFile(stamp)
		if err != nil {
			t.Fatal(err)
		}
		ns, _ := strconv.ParseInt(string(b), 10, 64)
		latencies = append(latencies, noticed.Sub(time.Unix(0, ns)))
		var sx *llm.ServerExitedError
		if err := p.ExitErr(); !errors.As(err, &sx) || sx.DuringStartup || sx.ExitCode != 134 || !llm.Retryable(err) {
			t.Fatalf("ExitErr = %v; want a retryable exit 134 while serving", err)
		}
		if !strings.Contains(sx.LogTail, "illegal memory access") {
			t.Fatalf("tail lacks the last words:\n%s", sx.LogTail)
		}
		if p.State() != StateFailed {
			t.Fatalf("state %v, want failed", p.State())
		}
	}
	slices.Sort(latencies)
	t.Logf("exits noticed %v after the servers' last acts", latencies)
	if latencies[1] > 100*time.Millisecond {
		t.Errorf("median exit noticed after %v, want under 100ms", latencies[1])
	}
}

func TestStartupBudgetIsAStallTimer(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		// Each load takes three budgets and shows progress every
		// 100 ms, leaving a busy machine most of a budget of slack.
		{"extended by health progress", []string{"--fault-load=2.4s", "--fault-steps=24", "--fault-quiet"}},
		{"extended by log output", []string{"--fault-load=2.4s", "--fault-steps=24", "--fault-no-progress"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // these mostly wait
			f := faultServer(t, tt.args...)
			f.cfg.ReadyBudget = testBudget
			start := time.Now()
			f.launch(t)
			if elapsed := time.Since(start); elapsed < 2*testBudget {
				t.Fatalf("ready after %v: the load did not outlast the budget, the test proves nothing", elapsed)
			}
		})
	}
	t.Run("no progress times out", func(t *testing.T) {
		t.Parallel()
		f := faultServer(t, "--fault-load=20s", "--fault-steps=1", "--fault-quiet", "--fault-no-progress")
		f.cfg.ReadyBudget = testBudget
		start := time.Now()
		_, err := Launch(context.Background(), f.cfg)
		elapsed := time.Since(start)
		var te *llm.StartupTimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("Launch error %v, want *llm.StartupTimeoutError", err)
		}
		if te.Budget != testBudget || !strings.HasPrefix(te.LastState, "loading") {
			t.Errorf("got %+v", te)
		}
		if elapsed < testBudget || elapsed > testBudget+testGrace+promptly {
			t.Errorf("timed out after %v, want about %v", elapsed, testBudget)
		}
	})
	t.Run("a cap ends even a loading server", func(t *testing.T) {
		t.Parallel()
		f := faultServer(t, "--fault-load=20s", "--fault-steps=200", "--fault-quiet")
		f.cfg.ReadyBudget = testBudget
		f.cfg.ReadyCap = 2 * testBudget
		_, err := Launch(context.Background(), f.cfg)
		var te *llm.StartupTimeoutError
		if !errors.As(err, &te) || te.Budget != 2*testBudget {
			t.Fatalf("Launch error %v, want a timeout at the cap", err)
		}
	})
}

func TestHungServer(t *testing.T) {
	t.Run("cut off by the budget", func(t *testing.T) {
		f := faultServer(t, "--fault-hang=all")
		f.cfg.ReadyBudget = testBudget
		f.cfg.ProbeTimeout = 100 * time.Millisecond
		start := time.Now()
		_, err := Launch(context.Background(), f.cfg)
		var te *llm.StartupTimeoutError
		if !errors.As(err, &te) || !strings.HasPrefix(te.LastState, "listening") {
			t.Fatalf("Launch error %v, want a timeout while listening", err)
		}
		if elapsed := time.Since(start); elapsed > testBudget+testGrace+promptly {
			t.Fatalf("took %v", elapsed)
		}
	})
	t.Run("context cancel returns promptly and kills it", func(t *testing.T) {
		f := faultServer(t, "--fault-hang=all", "--fault-ignore-sigterm")
		var pid int
		f.cfg.OnState = func(ev Event) {}
		ctx, cancel := context.WithCancel(context.Background())
		p, err := Start(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		pid = p.PID()
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err = p.WaitReady(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitReady error %v, want context.Canceled", err)
		}
		if waited := time.Since(start); waited > 200*time.Millisecond+promptly {
			t.Fatalf("WaitReady returned %v after the cancel", waited-200*time.Millisecond)
		}
		stopStart := time.Now()
		p.Stop(ctx) // cancelled: no grace for a server that ignores SIGTERM
		if d := time.Since(stopStart); d > promptly {
			t.Fatalf("Stop with a cancelled context took %v", d)
		}
		waitGone(t, pid, goneDeadline)
	})
}

func TestSquatterIsDetected(t *testing.T) {
	bin := testbin.Build(t, testbin.FaultServer)
	squat := func(t *testing.T, port int) {
		t.Helper()
		sq, err := Launch(context.Background(), Config{
			Program: bin, Backend: "squatter",
			Args:  []string{"--port", strconv.Itoa(port), "--fault-squat", testMaxLife},
			Probe: (&HTTPHealth{BaseURL: "http://127.0.0.1:" + strconv.Itoa(port)}).Probe,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sq.Stop(context.Background()) })
	}
	t.Run("our server fails to bind", func(t *testing.T) {
		f := faultServer(t)
		squat(t, f.port)
		_, err := Launch(context.Background(), f.cfg)
		if !isPortInUse(err) {
			t.Fatalf("Launch on a squatted port: %v, want port in use", err)
		}
	})
	t.Run("the squatter answers before our server fails", func(t *testing.T) {
		f := faultServer(t, "--fault-bind=after-load", "--fault-load=5s")
		squat(t, f.port)
		start := time.Now()
		_, err := Launch(context.Background(), f.cfg)
		var fe *ForeignServerError
		if !errors.As(err, &fe) || !errors.Is(err, ErrNotOurs) || !isPortInUse(err) {
			t.Fatalf("Launch: %v (%T), want *ForeignServerError", err, err)
		}
		if !strings.Contains(fe.Reason, "squatter") {
			t.Errorf("reason %q does not name what the squatter serves", fe.Reason)
		}
		if elapsed := time.Since(start); elapsed > foreignWait+testGrace+promptly {
			t.Fatalf("took %v", elapsed)
		}
	})
}

// isPortInUse says whether a launch error means the address was taken.
func isPortInUse(err error) bool {
	var sx *llm.ServerExitedError
	if errors.As(err, &sx) {
		return sx.Cause == llm.CausePortInUse
	}
	var fe *ForeignServerError
	return errors.As(err, &fe) && fe.Cause() == llm.CausePortInUse
}

func TestParallelLaunchesGetDistinctServers(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 20
	}
	type result struct {
		f   *fault
		p   *Process
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			f := faultServer(t)
			p, err := Launch(context.Background(), f.cfg)
			results <- result{f, p, err}
		}()
	}
	ports := map[int]bool{}
	var launched []result
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("launch: %v", r.err)
			continue
		}
		launched = append(launched, r)
		if ports[r.f.port] {
			t.Errorf("port %d given twice", r.f.port)
		}
		ports[r.f.port] = true
	}
	defer func() {
		for _, r := range launched {
			go r.p.Stop(context.Background())
		}
		for _, r := range launched {
			r.p.Stop(context.Background())
		}
	}()
	for _, r := range launched {
		code, body, err := r.f.get(context.Background(), "/v1/models")
		var list struct {
			Data []struct{ ID string } `json:"data"`
		}
		if err != nil || code != 200 || json.Unmarshal(body, &list) != nil || len(list.Data) != 1 || list.Data[0].ID != r.f.alias {
			t.Errorf("server on port %d: %d %s %v; want its own alias %s", r.f.port, code, body, err, r.f.alias)
		}
		if fi := r.f.info(t); fi.PID != r.p.PID() {
			t.Errorf("port %d is served by pid %d, not our %d", r.f.port, fi.PID, r.p.PID())
		}
	}
	if len(launched) != n {
		t.Fatalf("%d of %d launches worked", len(launched), n)
	}
}

func TestUnixSocket(t *testing.T) {
	sock, remove, err := localserver.SocketPath("llama.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	info, err := os.Stat(filepath.Dir(sock))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v %v, want mode 0700", info.Mode(), err)
	}
	alias := localserver.NewSecret()
	client := localserver.LoopbackClient(sock)
	p, err := Launch(context.Background(), Config{
		Program: testbin.Build(t, testbin.FaultServer),
		Args:    []string{"-m", "m.gguf", "--host", sock, "--alias", alias, "--fault-load=100ms", testMaxLife},
		Probe:   (&HTTPHealth{BaseURL: "http://localhost", Client: client}).Probe,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	resp, err := client.Get("http://localhost/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestFind(t *testing.T) {
	bin := testbin.Build(t, testbin.FaultServer)
	dir := testbin.InstallAs(t, bin, "llama-server")
	t.Setenv("PATH", dir)
	t.Run("on PATH", func(t *testing.T) {
		got, err := Find("llama-server", "")
		if err != nil || got != filepath.Join(dir, "llama-server") {
			t.Fatalf("Find = %q, %v", got, err)
		}
	})
	notFound := func(t *testing.T, program, where string) {
		t.Helper()
		_, err := Find(program, "apt install llama.cpp")
		var bnf *llm.BinaryNotFoundError
		if !errors.As(err, &bnf) || bnf.Where != where || !strings.Contains(err.Error(), "install: apt install llama.cpp") {
			t.Fatalf("Find(%q) = %v, want BinaryNotFoundError on %s with the hint", program, err, where)
		}
	}
	t.Run("not on PATH", func(t *testing.T) { notFound(t, "apr", "PATH") })
	t.Run("missing path", func(t *testing.T) { notFound(t, "/no/such/apr", "/no/such/apr") })
	t.Run("not executable", func(t *testing.T) {
		plain := filepath.Join(t.TempDir(), "apr")
		os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644)
		notFound(t, plain, plain)
	})
	t.Run("a directory", func(t *testing.T) { d := t.TempDir(); notFound(t, d, d) })
	t.Run("Start reports it", func(t *testing.T) {
		_, err := Launch(context.Background(), Config{Program: "apr", InstallHint: "cargo install apr-cli"})
		var bnf *llm.BinaryNotFoundError
		if !errors.As(err, &bnf) || bnf.Hint != "cargo install apr-cli" {
			t.Fatalf("Launch = %v", err)
		}
	})
}

func TestTailRedactsSecrets(t *testing.T) {
	p, err := Start(Config{Program: "/bin/sh", Args: []string{"-c", "echo token=hunter2; exit 7"}, Secrets: []string{"hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	var sx *llm.ServerExitedError
	if err := p.ExitErr(); !errors.As(err, &sx) || sx.ExitCode != 7 || sx.Backend != "sh" {
		t.Fatalf("ExitErr = %v", err)
	}
	if strings.Contains(p.Tail(), "hunter2") || !strings.Contains(p.Tail(), "token=[redacted]") || strings.Contains(sx.LogTail, "hunter2") {
		t.Fatalf("tail %q, error tail %q", p.Tail(), sx.LogTail)
	}
}

func TestWaitReadyWithoutProbe(t *testing.T) {
	p, err := Start(Config{Program: "/bin/sh", Args: []string{"-c", "sleep 5"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	if err := p.WaitReady(context.Background()); err == nil {
		t.Fatal("WaitReady without a probe succeeded")
	}
}
