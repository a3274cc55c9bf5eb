package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
)

func init() {
	register(Suite{
		Order: 30,
		Group: "Runtime faults",
		About: "Faults after the server is ready. `tether run` with the fault server as its llama-server: the server " +
			"killed, hung before its answer's headers or after its first chunk, and a server writing 1 GiB of logs while it " +
			"answers. `tether run --endpoint` against a scripted server in this process for what no real server does " +
			"on purpose: a reset connection, a stream cut inside a chunk, a chunk of invalid JSON, an 8 MiB line, an " +
			"endless answer. Each must end in a typed error with exit 5 or in the correct answer, within the bound, with " +
			"tether run's peak memory (VmHWM) bounded. Then the managed driver (in this process, restarts on): the " +
			"server killed mid-answer or between requests, and the next request must succeed on a new server.",
		Run: runRuntimeSuite,
	})
}

// runMemoryBound bounds tether run's peak resident memory in any runtime
// fault: its own needs are a few tens of MiB, and nothing a server sends
// may grow it much.
const runMemoryBound = 160 << 20

// runtimeCase is one runtime fault of tether run.
type runtimeCase struct {
	name string
	// env adds fault settings (managed cases); endpoint, if set, is the
	// scripted server's mode, and tether run attaches to it.
	env      []string
	endpoint string
	args     []string
	// check judges the exit code and output; nil wants exit 5.
	check  func(code int, stdout, stderr string) error
	within time.Duration
	trials [2]int // full, CI
	// serverWrote, if positive, is how many bytes the server must have
	// written (its logs) for the trial to count.
	serverWrote int64
}

func wantRequestFailed(text string) func(int, string, string) error {
	return func(code int, _, stderr string) error {
		if code != 5 {
			return fmt.Errorf("exit %d, want 5; stderr: %s", code, tail(stderr))
		}
		if !strings.Contains(strings.ToLower(stderr), strings.ToLower(text)) {
			return fmt.Errorf("stderr does not say %q: %s", text, tail(stderr))
		}
		return nil
	}
}

func runtimeCases(e *Env) []runtimeCase {
	floodSize := e.Trials(1<<30, 256<<20)
	floodAnswer := strings.TrimSpace(strings.Repeat("flood ", e.Trials(40, 16)))
	return []runtimeCase{
		{name: "server killed (SIGKILL) mid-answer", env: []string{"TETHER_FAULT_CRASH_MID_STREAM=3", "TETHER_FAULT_CRASH_SIGNAL=KILL", "TETHER_FAULT_ANSWER=" + answerWords},
			check: wantRequestFailed("exited while serving with signal: killed"), within: 5 * time.Second, trials: [2]int{10, 1}},
		{name: "server hangs before the answer's headers (APR_AGENT_HTTP_TIMEOUT_S=2)", env: []string{"TETHER_FAULT_HANG=chat", "APR_AGENT_HTTP_TIMEOUT_S=2"},
			check: wantRequestFailed("no complete answer within 2s"), within: 6 * time.Second, trials: [2]int{5, 1}},
		{name: "server hangs after the answer's first chunk (APR_AGENT_HTTP_TIMEOUT_S=2)", env: []string{"TETHER_FAULT_CHUNK_DELAY=1h", "APR_AGENT_HTTP_TIMEOUT_S=2"},
			check: wantRequestFailed("no complete answer within 2s"), within: 6 * time.Second, trials: [2]int{5, 1}},
		{name: fmt.Sprintf("server writes %d MiB of logs while it answers", floodSize>>20),
			env: []string{fmt.Sprintf("TETHER_FAULT_FLOOD=%d", floodSize), "TETHER_FAULT_CHUNK_DELAY=250ms", "TETHER_FAULT_ANSWER=" + floodAnswer},
			check: func(code int, stdout, stderr string) error {
				if code != 0 || strings.TrimSpace(stdout) != floodAnswer {
					return fmt.Errorf("exit %d, stdout %q; stderr: %s", code, tail(stdout), tail(stderr))
				}
				return nil
			},
			within: 60 * time.Second, trials: [2]int{2, 1}, serverWrote: int64(floodSize)},
		{name: "connection reset mid-answer (--endpoint)", endpoint: "reset",
			check: wantRequestFailed("reset"), within: 5 * time.Second, trials: [2]int{10, 1}},
		{name: "stream cut inside a chunk, no [DONE] (--endpoint)", endpoint: "truncate",
			check: wantRequestFailed("bad server answer"), within: 5 * time.Second, trials: [2]int{10, 1}},
		{name: "a chunk of invalid JSON mid-answer (--endpoint)", endpoint: "badjson",
			check: wantRequestFailed("bad server answer"), within: 5 * time.Second, trials: [2]int{10, 1}},
		{name: "an 8 MiB line in the answer (--endpoint)", endpoint: "bigline",
			check: func(code int, stdout, stderr string) error {
				switch {
				case code == 0 && len(stdout) == 8<<20+1: // and a newline
					return nil // the whole answer, correctly
				case code == 5 && strings.Contains(stderr, "bad server answer"):
					return nil // refused as too long, typed
				}
				return fmt.Errorf("exit %d with %d bytes of stdout; stderr: %s", code, len(stdout), tail(stderr))
			},
			within: 10 * time.Second, trials: [2]int{5, 1}},
		{name: "an endless answer to --max-tokens 16 (--endpoint)", endpoint: "endless", args: []string{"--max-tokens", "16"},
			check: wantRequestFailed("longer than"), within: 10 * time.Second, trials: [2]int{5, 1}},
		{name: "stall mid-answer (--endpoint, APR_AGENT_HTTP_TIMEOUT_S=2)", endpoint: "stall", env: []string{"APR_AGENT_HTTP_TIMEOUT_S=2"},
			check: wantRequestFailed("no complete answer within 2s"), within: 6 * time.Second, trials: [2]int{5, 1}},
	}
}

func runRuntimeSuite(ctx context.Context, e *Env) ([]Row, error) {
	tether, fault, model, err := e.processTrials(ctx)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(badServer)}
	go srv.Serve(ln)
	defer srv.Close()
	endpoint := "http://" + ln.Addr().String()

	// All trials of all cases share one pool: most wait for a timeout.
	cases := runtimeCases(e)
	type job struct{ c int }
	var jobs []job
	for c, rc := range cases {
		for range e.Trials(rc.trials[0], rc.trials[1]) {
			jobs = append(jobs, job{c})
		}
	}
	type result struct {
		took time.Duration
		hwm  int64
		err  error
		ran  bool
	}
	results := make([]result, len(jobs))
	parallel(ctx, 3, len(jobs), func(i int) {
		took, hwm, err := runtimeTrial(ctx, e, tether, fault, model, endpoint, cases[jobs[i].c])
		results[i] = result{took, hwm, err, true}
	})
	rows := make([]Row, len(cases))
	worst := make([]time.Duration, len(cases))
	peak := make([]int64, len(cases))
	for i, r := range results {
		c := jobs[i].c
		rows[c].Name = cases[c].name
		if !r.ran {
			continue
		}
		rows[c].Check(r.err)
		rows[c].Elapsed += r.took
		worst[c], peak[c] = max(worst[c], r.took), max(peak[c], r.hwm)
	}
	for c, rc := range cases {
		rows[c].Bound = fmt.Sprintf("%s within %s (slowest: %s); tether run's peak RSS ≤ %s (highest: %s)",
			rowOutcome(rc), rc.within, worst[c].Round(10*time.Millisecond), mib(runMemoryBound), mib(peak[c]))
	}
	if ctx.Err() == nil {
		rows = append(rows, restartRows(ctx, e, fault)...)
	}
	return rows, nil
}

func rowOutcome(rc runtimeCase) string {
	switch {
	case rc.endpoint == "bigline":
		return "the whole answer (exit 0) or a typed error (exit 5)"
	case rc.serverWrote > 0:
		return fmt.Sprintf("the whole answer, exit 0, with all %d MiB of logs drained", rc.serverWrote>>20)
	}
	return "a typed error, exit 5"
}

// runtimeTrial runs tether run once against a runtime fault, and returns
// how long it ran and its peak RSS.
func runtimeTrial(ctx context.Context, e *Env, tether, fault, model, endpoint string, rc runtimeCase) (time.Duration, int64, error) {
	m, err := newTrial(e, "runtime")
	if err != nil {
		return 0, 0, err
	}
	env := append([]string{"PATH=" + m.Dir, "TETHER_FAULT_MAX_LIFE=2m"}, rc.env...)
	args := []string{"run"}
	if rc.endpoint != "" {
		args = append(args, "--endpoint", endpoint+"/"+rc.endpoint)
	} else {
		if err := installServer(fault, m.Dir, "llama-server"); err != nil {
			return 0, 0, err
		}
		args = append(args, "--model", model, "--backend", "llama-server")
	}
	args = append(append(args, rc.args...), "hi")
	c, err := startChild(m, env, tether, args...)
	if err != nil {
		return 0, 0, err
	}
	hwm, wrote := watchMemory(c, filepath.Join(m.Dir, "llama-server"))
	code, err := c.Wait(rc.within)
	took := time.Since(c.Started)
	if err != nil {
		c.Stop()
		return took, 0, fmt.Errorf("tether run %s; stderr: %s", err, tail(c.Err.String()))
	}
	peak, written := max(hwm(), c.MaxRSS()), wrote()
	if _, live := m.awaitNone(ctx, killBound); len(live) > 0 {
		killAll(live)
		return took, peak, fmt.Errorf("left running after tether run exited: %s", describe(live))
	}
	stdout := c.Out.String()
	if c.Out.Len() > int64(len(stdout)) {
		// The output kept is bounded; what matters of a longer one is
		// its length.
		stdout = strings.Repeat("?", int(c.Out.Len()))
	}
	if err := rc.check(code, stdout, c.Err.String()); err != nil {
		return took, peak, err
	}
	if peak > runMemoryBound {
		return took, peak, fmt.Errorf("tether run's peak RSS %s is over %s", mib(peak), mib(runMemoryBound))
	}
	if written < rc.serverWrote {
		return took, peak, fmt.Errorf("the server wrote only %d of its %d bytes of logs before the answer ended", written, rc.serverWrote)
	}
	return took, peak, nil
}

// watchMemory polls tether run's peak RSS, and what the server (the
// process running serverExe) has written, until tether run ends; the
// functions it returns give the last figures read.
func watchMemory(c *child, serverExe string) (hwm func() int64, wrote func() int64) {
	var peak, written int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		server := 0
		for {
			if s, ok := readMemStatus(c.PID()); ok {
				peak = max(peak, s.HWM)
			}
			if server == 0 {
				for _, p := range c.m.scan() {
					if p.Exe == serverExe {
						server = p.PID
					}
				}
			}
			if server > 0 {
				written = max(written, bytesWritten(server))
			}
			select {
			case <-c.Done:
				return
			case <-tick.C:
			}
		}
	}()
	wait := func() { <-done }
	return func() int64 { wait(); return peak }, func() int64 { wait(); return written }
}

// bytesWritten is what a process has written (wchar of /proc/PID/io).
func bytesWritten(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar:"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// badServer is an OpenAI-compatible server that misbehaves as the first
// segment of the path says: /reset/v1/chat/completions resets the
// connection mid-answer, and so on.
func badServer(w http.ResponseWriter, r *http.Request) {
	mode, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if rest == "v1/models" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"bad","object":"model","owned_by":"chaos"}]}`)
		return
	}
	if rest != "v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	chunk := func(content string, finish string) {
		delta := map[string]any{"content": content}
		var fin any
		if finish != "" {
			fin = finish
		}
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-chaos", "object": "chat.completion.chunk", "created": 1, "model": "bad",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fin}},
		})
		fmt.Fprintf(w, "data: %s\n\n", b)
		flusher.Flush()
	}
	chunk("Hello ", "")
	chunk("there ", "")
	switch mode {
	case "reset":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			tcp.SetLinger(0) // close with RST
		}
		conn.Close()
	case "truncate":
		fmt.Fprint(w, `data: {"id":"chatcmpl-chaos","object":"chat.comp`)
		flusher.Flush()
	case "badjson":
		fmt.Fprint(w, "data: {broken\n\n")
		chunk("friend", "stop")
		fmt.Fprint(w, "data: [DONE]\n\n")
	case "bigline":
		chunk(strings.Repeat("a", 8<<20-len("Hello there ")), "stop")
		fmt.Fprint(w, "data: [DONE]\n\n")
	case "endless":
		for r.Context().Err() == nil {
			chunk("more ", "")
		}
	case "stall":
		<-r.Context().Done()
	}
}

// restartRows checks the managed driver's restart: a server that dies
// (killed mid-answer, or between requests) fails at most the request in
// flight, and the next request is answered by a new server.
func restartRows(ctx context.Context, e *Env, fault string) []Row {
	var rows []Row
	for _, between := range []bool{false, true} {
		row := Row{Name: "managed driver (restart on): server killed mid-answer, next request"}
		if between {
			row.Name = "managed driver (restart on): server killed between requests, next request"
		}
		began := time.Now()
		var worst time.Duration
		for range e.Trials(10, 1) {
			if ctx.Err() != nil {
				break
			}
			took, err := restartTrial(ctx, e, fault, between)
			row.Check(err)
			worst = max(worst, took)
		}
		first := "the answer cut by the kill is a retryable ServerExitedError; "
		if between {
			first = ""
		}
		row.Bound = fmt.Sprintf("%sthe next request is answered, by a new server, within 10 s (slowest: %s); nothing left after Close", first, worst.Round(10*time.Millisecond))
		row.Elapsed = time.Since(began)
		rows = append(rows, row)
	}
	return rows
}

// restartTrial launches the fault server through the managed driver,
// kills it, and asks again.
func restartTrial(ctx context.Context, e *Env, fault string, between bool) (time.Duration, error) {
	m, err := newTrial(e, "restart")
	if err != nil {
		return 0, err
	}
	if err := installServer(fault, m.Dir, "faultserver"); err != nil {
		return 0, err
	}
	script := filepath.Join(m.Dir, "llama-server")
	body := fmt.Sprintf("#!/bin/sh\nexec %q --fault-chunk-delay=30ms --fault-answer=%q --fault-max-life=2m \"$@\"\n", filepath.Join(m.Dir, "faultserver"), answerWords)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		return 0, err
	}
	model, err := e.Model(testmodel.Spec{})
	if err != nil {
		return 0, err
	}
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	d, err := managed.Launch(tctx, managed.Options{
		Model: model, Backend: "llama-server", Profiles: backend.Options{Program: script},
		Restart: true, Logger: discardLogger(),
	})
	if err != nil {
		return 0, fmt.Errorf("launch: %w", err)
	}
	defer func() {
		d.Close()
	}()
	first := d.PID()
	req := llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}}
	if between {
		if _, err := d.Complete(tctx, req); err != nil {
			return 0, fmt.Errorf("first request: %w", err)
		}
		syscall.Kill(first, syscall.SIGKILL)
		for !exitedPID(first) {
			time.Sleep(5 * time.Millisecond)
		}
	} else {
		var failure error
		n := 0
		for ev, err := range d.Stream(tctx, req) {
			if err != nil {
				failure = err
				break
			}
			if ev.Kind == llm.EventTextDelta {
				if n++; n == 2 {
					syscall.Kill(first, syscall.SIGKILL)
				}
			}
		}
		var exited *llm.ServerExitedError
		if !errors.As(failure, &exited) || !llm.Retryable(failure) {
			return 0, fmt.Errorf("the answer cut by the kill gave %v, want a retryable ServerExitedError", failure)
		}
	}
	start := time.Now()
	resp, err := d.Complete(tctx, req)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("the next request failed: %w", err)
	}
	if resp.Text != answerWords {
		return took, fmt.Errorf("the next request answered %q", resp.Text)
	}
	if d.PID() == first || d.Launches() != 2 {
		return took, fmt.Errorf("no new server: pid %d, %d launches", d.PID(), d.Launches())
	}
	if took > 10*time.Second {
		return took, fmt.Errorf("the next request took %s", took)
	}
	d.Close()
	if _, live := m.awaitNone(ctx, killBound); len(live) > 0 {
		killAll(live)
		return took, fmt.Errorf("left running after Close: %s", describe(live))
	}
	return took, nil
}

// exitedPID reports whether pid has ended (or is a zombie).
func exitedPID(pid int) bool {
	p, ok := readProc(pid)
	return !ok || p.dead()
}
