package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetherllm/tether/internal/testmodel"
)

func init() {
	register(Suite{
		Order: 10,
		Group: "Parent killed",
		About: "`tether run` is killed with SIGKILL at a random moment of each phase — start-up, the server's load, " +
			"the streamed answer, the server's shutdown — with the fault server as its llama-server, which starts a " +
			"child that ignores SIGTERM and holds the server's output, in the server's process group or out of it " +
			"(setsid). Every process of a trial carries a marker (an environment variable, its program's path, or " +
			"its session), and /proc is scanned for it after the kill. The same for `tether run` on tether's own " +
			"engine killed mid-answer, `tether code` killed while a shell command the model asked for runs, and " +
			"`tether serve` killed under a streaming client.",
		Run: runKillSuite,
	})
}

// killBound is how soon after tether run's death its descendants must be
// gone: the watchdog's grace (2 s) for a server that ignores SIGTERM, and
// room for a machine whose two cores run other work (the watchdog is a
// shell that forks for each step; at a load average of 15 it has taken
// 5 s). A process stuck for good, or a watchdog that waits for
// something that will not come, is still caught.
const killBound = 10 * time.Second

// trialSeq numbers trials for their markers.
var trialSeq atomic.Int64

// newTrial makes a trial's directory and marker.
func newTrial(e *Env, kind string) (*marked, error) {
	dir, err := e.TempDir(kind + "-")
	if err != nil {
		return nil, err
	}
	return newMarked(fmt.Sprintf("%d-%s-%d", os.Getpid(), kind, trialSeq.Add(1)), dir), nil
}

// newKillTrial makes a trial with a TMPDIR of its own (tmp) for the
// launches' files, and the fault server installed as llama-server when
// fault is not "".
func newKillTrial(e *Env, kind, fault string) (m *marked, tmp string, err error) {
	if m, err = newTrial(e, kind); err != nil {
		return nil, "", err
	}
	if fault != "" {
		if err := installServer(fault, m.Dir, "llama-server"); err != nil {
			return nil, "", err
		}
	}
	tmp = filepath.Join(m.Dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, "", err
	}
	return m, tmp, nil
}

// killPhase is a moment of tether run's life to kill it in.
type killPhase struct {
	name string
	// faults configure the fault server for the phase.
	faults []string
	// await waits for the phase to begin; the kill comes a random delay
	// up to window later.
	await  func(c *child) error
	window time.Duration
}

// answerWords is the fault server's answer while streaming: 30 pieces.
var answerWords = strings.TrimSpace(strings.Repeat("word ", 30))

func killPhases(serverPath func(*marked) string) []killPhase {
	return []killPhase{
		{
			name:   "during start-up",
			faults: []string{"TETHER_FAULT_LOAD=3s"},
			await:  func(*child) error { return nil },
			window: 60 * time.Millisecond,
		},
		{
			name:   "while the server loads",
			faults: []string{"TETHER_FAULT_LOAD=3s", "TETHER_FAULT_STEPS=30"},
			await: func(c *child) error {
				// The server is running: its program is the trial's.
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) && !c.exited() {
					for _, p := range c.m.scan() {
						if p.Exe == serverPath(c.m) {
							return nil
						}
					}
					time.Sleep(5 * time.Millisecond)
				}
				return fmt.Errorf("the server never started; stderr: %s", tail(c.Err.String()))
			},
			window: 2 * time.Second,
		},
		{
			name:   "while the answer streams",
			faults: []string{"TETHER_FAULT_CHUNK_DELAY=40ms", "TETHER_FAULT_ANSWER=" + answerWords},
			await:  func(c *child) error { return c.WaitFor(c.Out, "word", 20*time.Second) },
			window: 900 * time.Millisecond,
		},
		{
			name:   "while the server shuts down",
			faults: []string{"TETHER_FAULT_TERM_DELAY=3s", "TETHER_FAULT_ANSWER=done"},
			await:  func(c *child) error { return c.WaitFor(c.Err, "generated tokens", 20*time.Second) },
			window: time.Second,
		},
	}
}

func runKillSuite(ctx context.Context, e *Env) ([]Row, error) {
	tether, fault, model, err := e.processTrials(ctx)
	if err != nil {
		return nil, err
	}
	serverPath := func(m *marked) string { return filepath.Join(m.Dir, "llama-server") }
	var rows []Row
	perPhase := e.Trials(52, 4)
	for _, ph := range killPhases(serverPath) {
		began := time.Now()
		// The trials' random choices are drawn here, in order, so that a
		// seed repeats a run; the trials run four at a time (they mostly
		// wait). Half the trials keep the server out of a cgroup, where
		// descendants that leave the process group are found from the
		// process tree instead; each half has its own row.
		type plan struct {
			delay      time.Duration
			grandchild string
			noCgroup   bool
		}
		plans := make([]plan, perPhase)
		for i := range plans {
			plans[i] = plan{delay: time.Duration(e.Rand.Int64N(int64(ph.window) + 1)), grandchild: []string{"group", "escape"}[i%2], noCgroup: i/2%2 == 1}
		}
		results := make([]killResult, perPhase)
		parallel(ctx, 4, perPhase, func(i int) {
			results[i] = killRunTrial(ctx, e, tether, fault, model, ph, plans[i].delay, plans[i].grandchild, plans[i].noCgroup)
		})
		for _, tree := range []bool{false, true} {
			row := Row{Name: "SIGKILL of tether run " + ph.name + ", server in a cgroup"}
			if tree {
				row.Name = "SIGKILL of tether run " + ph.name + ", TETHER_NO_CGROUP=1 (process tree)"
			}
			var worst time.Duration
			escaped, swept, inWindow := 0, 0, 0
			for i, r := range results {
				if plans[i].noCgroup != tree || ctx.Err() != nil && r.err == nil && r.clean == 0 {
					continue
				}
				row.Check(r.err)
				worst = max(worst, r.clean)
				if plans[i].grandchild == "escape" {
					escaped++
				}
				if r.swept {
					swept++
				}
				if r.err != nil && r.inWindow {
					inWindow++
				}
			}
			row.Bound = fmt.Sprintf("no process of the trial alive %s after the kill (slowest: %s; %d trials with a setsid grandchild, %d with one in the group); %s",
				killBound, worst.Round(10*time.Millisecond), escaped, row.Trials-escaped, filesBound(swept))
			if tree && row.Failures > 0 && inWindow == row.Failures {
				row.Explained = fmt.Sprintf("Every survivor is the setsid grandchild, born less than %s before the kill: without a cgroup, "+
					"descendants outside the process group are known to the watchdog only once a listing of the process tree has seen them "+
					"(every 5 ms as the server starts, backing off to every 2 s), and nothing can find one that escaped in the moment before "+
					"its parent's parent is killed. The cgroup rows check the same kills with a cgroup.", listingWindow)
			}
			row.Elapsed = time.Since(began)
			rows = append(rows, row)
			e.Log.Info("parent killed", "row", row.Name, "trials", row.Trials, "failures", row.Failures)
		}
		if ctx.Err() != nil {
			return rows, nil
		}
	}
	rows = append(rows, killEmbedded(ctx, e, tether))
	if ctx.Err() != nil {
		return rows, nil
	}
	rows = append(rows, killCode(ctx, e, tether, fault, model))
	if ctx.Err() != nil {
		return rows, nil
	}
	rows = append(rows, killServe(ctx, e, tether))
	return rows, nil
}

// killResult is one kill trial's outcome.
type killResult struct {
	// clean is how long after the kill the last process of the trial
	// was gone.
	clean time.Duration
	// swept says files were left, and the next launch removed them.
	swept bool
	// inWindow says every survivor ran the trial's program in a session
	// of its own (the escaped grandchild) and was born less than
	// listingWindow before the kill.
	inWindow bool
	err      error
}

// killRunTrial runs tether run with the fault server, kills it delay
// after the phase began, and checks that nothing of the trial survives.
func killRunTrial(ctx context.Context, e *Env, tether, fault, model string, ph killPhase, delay time.Duration, grandchild string, noCgroup bool) killResult {
	m, tmp, err := newKillTrial(e, "kill", fault)
	if err != nil {
		return killResult{err: err}
	}
	env := append([]string{
		"PATH=" + m.Dir, "TMPDIR=" + tmp,
		"TETHER_FAULT_GRANDCHILD=" + grandchild, "TETHER_FAULT_MAX_LIFE=2m",
	}, ph.faults...)
	containment := "cgroup where available"
	if noCgroup {
		env = append(env, "TETHER_NO_CGROUP=1")
		containment = "TETHER_NO_CGROUP=1"
	}
	c, err := startChild(m, env, tether, "run", "--model", model, "--backend", "llama-server", "hi")
	if err != nil {
		return killResult{err: err}
	}
	if err := ph.await(c); err != nil {
		c.Stop()
		return killResult{err: err}
	}
	time.Sleep(delay)
	if c.exited() {
		c.Stop()
		return killResult{err: fmt.Errorf("tether run ended before the kill (%s after the phase began); stderr: %s", delay.Round(time.Millisecond), tail(c.Err.String()))}
	}
	next := func() error {
		return runToEnd(m, []string{"PATH=" + m.Dir, "TMPDIR=" + tmp, "TETHER_FAULT_MAX_LIFE=2m"}, tether, "run", "--model", model, "--backend", "llama-server", "hi")
	}
	return killAndCheck(ctx, c, tmp, fmt.Sprintf("killed %s after the phase began, grandchild %s, %s", delay.Round(time.Millisecond), grandchild, containment), next)
}

// killAndCheck kills the trial's first process with SIGKILL and checks
// that the trial's processes are gone within killBound, and that tmp (the
// trial's TMPDIR, "" for none) is left empty, or emptied by next (a
// normal run of the same command, nil for none).
func killAndCheck(ctx context.Context, c *child, tmp, what string, next func() error) killResult {
	c.Kill(syscall.SIGKILL)
	killed := time.Now()
	killedAt, clockOK := sinceBoot()
	<-c.Done
	reaped := time.Since(killed)
	_, live := c.m.awaitNone(ctx, killBound-reaped)
	took := time.Since(killed)
	if len(live) > 0 {
		inWindow := true
		var ages []string
		for _, p := range live {
			born, ok := startedAt(p.PID)
			ok = ok && clockOK
			age := killedAt - born
			if ok {
				ages = append(ages, fmt.Sprintf("pid %d born %s before the kill", p.PID, age.Round(10*time.Millisecond)))
			}
			inWindow = inWindow && ok && p.SID == p.PID && strings.HasPrefix(p.Exe, c.m.Dir+"/") && age < listingWindow
		}
		desc := describe(live)
		killAll(live)
		return killResult{clean: took, inWindow: inWindow, err: fmt.Errorf("%s: alive %s after the kill (%s reaped after %s; %s): %s",
			what, took.Round(time.Millisecond), c.name(), reaped.Round(time.Millisecond), strings.Join(ages, ", "), desc)}
	}
	if took > killBound {
		// The last look, which found nothing, ended after the bound.
		return killResult{clean: took, err: fmt.Errorf("%s: gone only %s after the kill (%s reaped after %s)", what, took.Round(time.Millisecond), c.name(), reaped.Round(time.Millisecond))}
	}
	if tmp == "" {
		return killResult{clean: took}
	}
	left := filesUnder(tmp)
	if len(left) == 0 {
		return killResult{clean: took}
	}
	// A kill between making the launch's directories and starting the
	// watchdog leaves them to the next launch, which must remove them.
	if next == nil {
		return killResult{clean: took, err: fmt.Errorf("%s: files left in TMPDIR: %s", what, strings.Join(left, ", "))}
	}
	if err := next(); err != nil {
		return killResult{clean: took, err: fmt.Errorf("%s: files left in TMPDIR (%s), and the next launch: %v", what, strings.Join(left, ", "), err)}
	}
	if still := filesUnder(tmp); len(still) > 0 {
		return killResult{clean: took, err: fmt.Errorf("%s: files left in TMPDIR (%s), and after the next launch: %s", what, strings.Join(left, ", "), strings.Join(still, ", "))}
	}
	return killResult{clean: took, swept: true}
}

// listingWindow is how recent an escaped descendant's birth must be, at
// the kill, for the process-tree fallback to be excused for missing it:
// the first listings come every 5 ms, later ones further apart, and the
// kernel's start times have a 10 ms grain.
const listingWindow = 100 * time.Millisecond

// filesBound states the TMPDIR property checked.
func filesBound(swept int) string {
	return fmt.Sprintf("no file left in its TMPDIR once the watchdog is done, or, for a kill before the watchdog starts (%d trials), once the next tether run is", swept)
}

// runToEnd runs a command of the trial to its end and wants exit 0.
func runToEnd(m *marked, env []string, program string, args ...string) error {
	c, err := startChild(m, env, program, args...)
	if err != nil {
		return err
	}
	code, err := c.Wait(time.Minute)
	if err != nil {
		c.Stop()
		return err
	}
	if code != 0 {
		return fmt.Errorf("exit %d: %s", code, tail(c.Err.String()))
	}
	return nil
}

// filesUnder lists what dir holds, relative to it.
func filesUnder(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && path != dir {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// parallel runs f(0..n-1), at most width at a time, and stops starting
// new ones once ctx ends.
func parallel(ctx context.Context, width, n int, f func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// repeatKills runs n kill trials one after the other, each with a random
// delay below window, until ctx ends; it records their failures in row
// and returns the slowest clean-up and how many trials left files that
// the next launch swept.
func repeatKills(ctx context.Context, e *Env, row *Row, n int, window time.Duration, trial func(delay time.Duration) killResult) (worst time.Duration, swept int) {
	for range n {
		if ctx.Err() != nil {
			break
		}
		r := trial(time.Duration(e.Rand.Int64N(int64(window))))
		row.Check(r.err)
		worst = max(worst, r.clean)
		if r.swept {
			swept++
		}
	}
	return worst, swept
}

// killEmbedded kills tether run on tether's own engine (it launches
// tether serve) in the middle of a long answer.
func killEmbedded(ctx context.Context, e *Env, tether string) Row {
	row := Row{Name: "SIGKILL of tether run on its own engine mid-answer"}
	began := time.Now()
	model, err := e.Model(testmodel.Spec{WordsOnly: true, Seed: 7})
	if err != nil {
		row.Check(err)
		return row
	}
	worst, swept := repeatKills(ctx, e, &row, e.Trials(10, 1), 300*time.Millisecond, func(delay time.Duration) killResult {
		m, tmp, err := newKillTrial(e, "embedded", "")
		if err != nil {
			return killResult{err: err}
		}
		c, err := startChild(m, []string{"TMPDIR=" + tmp, "APR_AGENT_MAX_TOKENS_CAP=100000"},
			tether, "run", "--model", model, "--backend", "tether", "--max-tokens", "3500", "--ctx", "4096", "tell me a story")
		if err != nil {
			return killResult{err: err}
		}
		if err := c.WaitOutput(c.Out, 60*time.Second); err != nil {
			c.Stop()
			return killResult{err: err}
		}
		time.Sleep(delay)
		if c.exited() {
			c.Stop()
			return killResult{err: fmt.Errorf("the answer ended before the kill (%s after it began)", delay.Round(time.Millisecond))}
		}
		next := func() error {
			return runToEnd(m, []string{"TMPDIR=" + tmp}, tether, "run", "--model", model, "--backend", "tether", "--max-tokens", "4", "hi")
		}
		return killAndCheck(ctx, c, tmp, fmt.Sprintf("killed %s into the answer", delay.Round(time.Millisecond)), next)
	})
	row.Bound = fmt.Sprintf("no process of the trial alive %s after the kill (slowest: %s); %s", killBound, worst.Round(10*time.Millisecond), filesBound(swept))
	row.Elapsed = time.Since(began)
	return row
}

// codeShellCommand is the command the scripted model has tether code run:
// a background child that outlives the shell's own work, its pid written
// once it runs.
const codeShellCommand = "sleep 600 & echo $! > pid.tmp; mv pid.tmp pid; wait"

// killCode kills tether code while a shell command the model asked for
// runs: the command, what it started in the background and the model's
// server must all go.
func killCode(ctx context.Context, e *Env, tether, fault, model string) Row {
	row := Row{Name: "SIGKILL of tether code while the model's shell command runs"}
	began := time.Now()
	calls := fmt.Sprintf(`[{"name":"shell","arguments":{"command":%q}}]`, codeShellCommand)
	worst, swept := repeatKills(ctx, e, &row, e.Trials(10, 2), 200*time.Millisecond, func(delay time.Duration) killResult {
		m, tmp, err := newKillTrial(e, "code", fault)
		if err != nil {
			return killResult{err: err}
		}
		ws := filepath.Join(m.Dir, "ws")
		if err := os.Mkdir(ws, 0o700); err != nil {
			return killResult{err: err}
		}
		env := []string{"PATH=" + m.Dir + ":/usr/bin:/bin", "TMPDIR=" + tmp, "TETHER_FAULT_MAX_LIFE=2m", "TETHER_FAULT_TOOL_CALLS=" + calls}
		c, err := startChild(m, env, tether, "code", "--model", model, "--backend", "llama-server", "--dir", ws, "--allow-shell", "go")
		if err != nil {
			return killResult{err: err}
		}
		if err := c.WaitFor(c.Err, "tether: shell ", 60*time.Second); err != nil {
			c.Stop()
			return killResult{err: err}
		}
		if err := awaitFile(c, filepath.Join(ws, "pid"), 10*time.Second); err != nil {
			c.Stop()
			return killResult{err: err}
		}
		time.Sleep(delay)
		if c.exited() {
			c.Stop()
			return killResult{err: fmt.Errorf("tether code ended before the kill; stderr: %s", tail(c.Err.String()))}
		}
		next := func() error {
			return runToEnd(m, []string{"PATH=" + m.Dir, "TMPDIR=" + tmp, "TETHER_FAULT_MAX_LIFE=2m"}, tether, "run", "--model", model, "--backend", "llama-server", "hi")
		}
		return killAndCheck(ctx, c, tmp, fmt.Sprintf("killed %s after the command's child started", delay.Round(time.Millisecond)), next)
	})
	row.Bound = fmt.Sprintf("no process of the trial (the command, its background child, the server) alive %s after the kill (slowest: %s); %s",
		killBound, worst.Round(10*time.Millisecond), filesBound(swept))
	row.Elapsed = time.Since(began)
	return row
}

// awaitFile waits up to d for path to exist, failing early if the
// trial's program ends first.
func awaitFile(c *child, path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if c.exited() {
			return fmt.Errorf("exited before %s appeared; stderr: %s", filepath.Base(path), tail(c.Err.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("no %s within %s; stderr: %s", filepath.Base(path), d, tail(c.Err.String()))
}

// serveErrorBound is how soon a streaming client must learn that the
// server it talks to was killed.
const serveErrorBound = 2 * time.Second

// killServe kills tether serve while a client streams a long answer: the
// client must get an error (the stream cut before its end), not a hang
// and not a clean end.
func killServe(ctx context.Context, e *Env, tether string) Row {
	row := Row{Name: "SIGKILL of tether serve under a streaming client"}
	began := time.Now()
	model, err := e.Model(testmodel.Spec{WordsOnly: true, Seed: 7})
	if err != nil {
		row.Check(err)
		return row
	}
	var worst time.Duration
	for range e.Trials(10, 1) {
		if ctx.Err() != nil {
			break
		}
		delay := time.Duration(e.Rand.Int64N(int64(300 * time.Millisecond)))
		took, err := func() (time.Duration, error) {
			m, err := newTrial(e, "serve")
			if err != nil {
				return 0, err
			}
			s, base, err := startServe(m, tether, model, nil)
			if err != nil {
				return 0, err
			}
			defer s.Stop()
			client := &http.Client{}
			type result struct {
				a   chatAnswer
				err error
				at  time.Time
			}
			done := make(chan result, 1)
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			started := make(chan struct{})
			var once sync.Once
			go func() {
				a, err := streamChat(sctx, client, base, chatParams{
					Prompt: "tell me a story", MaxTokens: 3500, Seed: 1,
					OnText: func(string) { once.Do(func() { close(started) }) },
				})
				done <- result{a, err, time.Now()}
			}()
			select {
			case <-started:
			case r := <-done:
				return 0, fmt.Errorf("the stream ended before its first piece: %v", r.err)
			}
			time.Sleep(delay)
			s.Kill(syscall.SIGKILL)
			killed := time.Now()
			select {
			case r := <-done:
				took := r.at.Sub(killed)
				if r.err == nil {
					return took, fmt.Errorf("the stream ended cleanly (%d bytes, finish %q) although the server was killed %s into it", len(r.a.Text), r.a.Finish, delay)
				}
				return max(took, 0), nil
			case <-time.After(serveErrorBound):
				return serveErrorBound, fmt.Errorf("the client still waits %s after the server was killed", serveErrorBound)
			}
		}()
		row.Check(err)
		worst = max(worst, took)
	}
	row.Bound = fmt.Sprintf("the client's stream fails within %s of the kill, never ends cleanly (slowest: %s)", serveErrorBound, worst.Round(time.Millisecond))
	row.Elapsed = time.Since(began)
	return row
}

// startServe starts tether serve on model on a free port and waits until
// it is ready; it returns the server and its root URL.
func startServe(m *marked, tether, model string, extra []string) (*child, string, error) {
	args := append([]string{"serve", "run", model, "--port", "0", "--log-level", "warn"}, extra...)
	s, err := startChild(m, nil, tether, args...)
	if err != nil {
		return nil, "", err
	}
	if err := s.WaitFor(s.Err, "ready in", 60*time.Second); err != nil {
		s.Stop()
		return nil, "", err
	}
	out := s.Err.String()
	i := strings.Index(out, "listening on http://")
	if i < 0 {
		s.Stop()
		return nil, "", fmt.Errorf("no address in: %s", tail(out))
	}
	addr := strings.Fields(out[i+len("listening on "):])[0]
	addr = strings.TrimRight(addr, ";,")
	return s, addr, nil
}
