package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func init() {
	register(Suite{
		Order: 20,
		Group: "Start-up faults",
		About: "`tether run` launches the fault server as its llama-server, scripted to fail in each way the supervisor " +
			"classifies (the lines are those real servers print), to hang before listening, to never become ready, " +
			"to die once ready, or to be a squatter that answers in our server's place. Each trial checks the exit " +
			"code, that the message names the cause, the time to exit, and that no process of the trial is left.",
		Run: runStartupSuite,
	})
}

// startupCase is one way for a server's start to go wrong.
type startupCase struct {
	name string
	// env adds fault settings; script, if set, is the llama-server
	// program instead of the fault server (a shell script that runs the
	// fault server, installed in the trial's directory as "faultserver").
	env    []string
	script string
	// noServer leaves llama-server out of PATH.
	noServer bool
	wantCode int
	// wantErr must appear in stderr (any case); wantOut in stdout.
	wantErr, wantOut string
	// within bounds the time from start to exit.
	within time.Duration
}

// readyBudget is the start-up budget the hanging cases run with.
const readyBudget = 2

func startupCases() []startupCase {
	budget := fmt.Sprintf("APR_SERVE_READY_TIMEOUT_S=%d", readyBudget)
	hangBound := readyBudget*time.Second + 3*time.Second
	return []startupCase{
		{name: "server says the model file is bad", env: []string{"TETHER_FAULT_CRASH=llama_model_load: error loading model: invalid magic characters"},
			wantCode: 3, wantErr: "cause: bad model file", within: 5 * time.Second},
		{name: "server runs out of memory", env: []string{"TETHER_FAULT_CRASH=ggml_backend_cuda_buffer_type_alloc_buffer: allocating 4096.00 MiB on device 0: cudaMalloc failed: out of memory"},
			wantCode: 4, wantErr: "cause: out of memory", within: 5 * time.Second},
		{name: "server lacks a shared library", env: []string{"TETHER_FAULT_CRASH=llama-server: error while loading shared libraries: libcuda.so.1: cannot open shared object file: No such file or directory", "TETHER_FAULT_CRASH_CODE=127"},
			wantCode: 4, wantErr: "cause: missing library", within: 5 * time.Second},
		{name: "server cannot bind its port (each of the 3 ports tried)", env: []string{"TETHER_FAULT_CRASH=main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080"},
			wantCode: 4, wantErr: "cause: port in use", within: 10 * time.Second},
		{name: "server killed by SIGKILL (as by the OOM killer) while loading", env: []string{"TETHER_FAULT_CRASH=ggml_abort: fatal error", "TETHER_FAULT_CRASH_SIGNAL=KILL", "TETHER_FAULT_CRASH_AFTER=200ms", "TETHER_FAULT_LOAD=2s"},
			wantCode: 4, wantErr: "exited during startup with signal: killed", within: 5 * time.Second},
		{name: "server program missing", noServer: true,
			wantCode: 4, wantErr: "llama-server not found", within: 5 * time.Second},
		{name: "server hangs before listening (budget 2 s)", env: []string{budget, "TETHER_FAULT_BIND=after-load", "TETHER_FAULT_LOAD=1h"},
			wantCode: 4, wantErr: "did not become ready within", within: hangBound},
		{name: "server never ready, logging a heartbeat every 100 ms (budget 2 s)", env: []string{budget, "TETHER_FAULT_BIND=after-load", "TETHER_FAULT_LOAD=1h", "TETHER_FAULT_HEARTBEAT=100ms"},
			wantCode: 4, wantErr: "did not become ready within", within: hangBound},
		{name: "server listens, its load never progresses (budget 2 s)", env: []string{budget, "TETHER_FAULT_LOAD=1h"},
			wantCode: 4, wantErr: "did not become ready within", within: hangBound},
		// Each probe waits up to its 2 s timeout, and the first that
		// connects tells the server is listening (progress) only then:
		// the bound is two budgets and two probe timeouts.
		{name: "server accepts connections and never answers (budget 2 s, probe timeout 2 s)", env: []string{budget, "TETHER_FAULT_HANG=all"},
			wantCode: 4, wantErr: "did not become ready within", within: 2*readyBudget*time.Second + 4*time.Second + time.Second},
		{name: "server ready, then dies mid-answer", env: []string{"TETHER_FAULT_CRASH=boom", "TETHER_FAULT_CRASH_MID_STREAM=3", "TETHER_FAULT_ANSWER=" + answerWords},
			wantCode: 5, wantErr: "exited while serving", within: 5 * time.Second},
		{name: "a squatter answers on every port tried", env: []string{"TETHER_FAULT_SQUAT=1"},
			wantCode: 4, wantErr: "port in use: another server answers in its place", within: 10 * time.Second},
		{name: "a squatter answers on the first port only: retried on another", script: "#!/bin/sh\n" +
			"d=${0%/*}\nif [ ! -e \"$d/squatted\" ]; then : > \"$d/squatted\"; exec \"$d/faultserver\" --fault-squat \"$@\"; fi\nexec \"$d/faultserver\" \"$@\"\n",
			wantCode: 0, wantOut: "Hello from faultserver.", within: 10 * time.Second},
	}
}

func runStartupSuite(ctx context.Context, e *Env) ([]Row, error) {
	tether, fault, model, err := e.processTrials(ctx)
	if err != nil {
		return nil, err
	}
	// All trials of all cases share one pool: they mostly wait (for a
	// budget to run out, a squatter to be found).
	cases := startupCases()
	type job struct{ c, trial int }
	var jobs []job
	for c := range cases {
		for t := range e.Trials(10, 1) {
			jobs = append(jobs, job{c, t})
		}
	}
	type result struct {
		took time.Duration
		err  error
		ran  bool
	}
	results := make([]result, len(jobs))
	parallel(ctx, 4, len(jobs), func(i int) {
		took, err := startupTrial(ctx, e, tether, fault, model, cases[jobs[i].c])
		results[i] = result{took, err, true}
	})
	rows := make([]Row, len(cases))
	worst := make([]time.Duration, len(cases))
	for i, r := range results {
		c := jobs[i].c
		rows[c].Name = cases[c].name
		if !r.ran {
			continue // not run: interrupted
		}
		rows[c].Check(r.err)
		rows[c].Elapsed += r.took
		worst[c] = max(worst[c], r.took)
	}
	for c, sc := range cases {
		what := fmt.Sprintf("exit %d naming the cause", sc.wantCode)
		if sc.wantCode == 0 {
			what = "exit 0 with the answer"
		}
		rows[c].Bound = fmt.Sprintf("%s within %s (slowest: %s); nothing of the trial left %s later", what, sc.within, worst[c].Round(10*time.Millisecond), killBound)
	}
	return rows, nil
}

// startupTrial runs tether run against one start-up fault and returns
// how long it took to exit.
func startupTrial(ctx context.Context, e *Env, tether, fault, model string, sc startupCase) (time.Duration, error) {
	m, err := newTrial(e, "startup")
	if err != nil {
		return 0, err
	}
	switch {
	case sc.noServer:
	case sc.script != "":
		if err := installServer(fault, m.Dir, "faultserver"); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(m.Dir, "llama-server"), []byte(sc.script), 0o755); err != nil {
			return 0, err
		}
	default:
		if err := installServer(fault, m.Dir, "llama-server"); err != nil {
			return 0, err
		}
	}
	env := append([]string{"PATH=" + m.Dir, "TETHER_FAULT_MAX_LIFE=2m"}, sc.env...)
	c, err := startChild(m, env, tether, "run", "--model", model, "--backend", "llama-server", "hi")
	if err != nil {
		return 0, err
	}
	code, err := c.Wait(sc.within)
	took := time.Since(c.Started)
	if err != nil {
		c.Stop()
		return took, fmt.Errorf("tether run %s; stderr: %s", err, tail(c.Err.String()))
	}
	if _, live := m.awaitNone(ctx, killBound); len(live) > 0 {
		killAll(live)
		return took, fmt.Errorf("left running after tether run exited: %s", describe(live))
	}
	stderr, stdout := c.Err.String(), c.Out.String()
	switch {
	case code != sc.wantCode:
		return took, fmt.Errorf("exit %d, want %d; stderr: %s", code, sc.wantCode, tail(stderr))
	case sc.wantErr != "" && !strings.Contains(strings.ToLower(stderr), strings.ToLower(sc.wantErr)):
		return took, fmt.Errorf("stderr does not say %q: %s", sc.wantErr, tail(stderr))
	case sc.wantOut != "" && !strings.Contains(stdout, sc.wantOut):
		return took, fmt.Errorf("stdout lacks %q: %s", sc.wantOut, tail(stdout))
	}
	return took, nil
}
