//go:build unix

package supervisor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// lineSignal is a LogWriter that sends on a channel for every line holding
// a phrase.
type lineSignal struct {
	phrase string
	ch     chan struct{}
	mu     sync.Mutex
	buf    []byte
}

func newLineSignal(phrase string) *lineSignal {
	return &lineSignal{phrase: phrase, ch: make(chan struct{}, 1<<16)}
}

func (l *lineSignal) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		nl := bytes.IndexByte(l.buf, '\n')
		if nl < 0 {
			break
		}
		if bytes.Contains(l.buf[:nl], []byte(l.phrase)) {
			select {
			case l.ch <- struct{}{}:
			default:
			}
		}
		l.buf = l.buf[nl+1:]
	}
	return len(p), nil
}

// wait waits for n more lines, or fails the test after a generous bound
// (the lines come every few tens of milliseconds).
func (l *lineSignal) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-l.ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("no line with %q", l.phrase)
		}
	}
}

// stepUntilTimeout advances the fake clock step by step, each step after
// the server has written two more lines that signal, until start-up fails.
// It returns the error and how much fake time had passed. Each step that
// fires the wake timer waits until the readiness loop has either re-armed
// it or returned, so no step races the loop.
func stepUntilTimeout(t *testing.T, clk *fakeClock, lines *lineSignal, errc <-chan error, step time.Duration, maxSteps int) (error, time.Duration) {
	t.Helper()
	for i := 1; i <= maxSteps; i++ {
		lines.wait(t, 2)
		if clk.Advance(step) == 0 {
			continue
		}
		select {
		case <-clk.armed:
		case err := <-errc:
			return err, time.Duration(i) * step
		}
	}
	t.Fatalf("still starting after %v of fake time with only repeated output", time.Duration(maxSteps)*step)
	return nil, 0
}

func startWithFakeClock(t *testing.T, f *fault) (*fakeClock, <-chan error) {
	t.Helper()
	clk := newFakeClock()
	f.cfg.clock = clk
	p, err := Start(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	errc := make(chan error, 1)
	go func() { errc <- p.WaitReady(context.Background()) }()
	<-clk.armed // the loop has started
	return clk, errc
}

// A server that logs every request and never becomes ready (tether serve
// stuck reading its model does this): each readiness probe's echo in its
// log is not progress, so the budget runs out as if it were silent.
func TestProbeEchoesAreNotProgress(t *testing.T) {
	const budget = 10 * time.Second
	f := faultServer(t, "--fault-load=1h", "--fault-no-progress")
	f.cfg.ReadyBudget = budget
	f.cfg.ReadyCap = -1 // the budget alone must end it
	echoes := newLineSignal("request: GET /health")
	f.cfg.LogWriter = echoes
	clk, errc := startWithFakeClock(t, f)
	err, elapsed := stepUntilTimeout(t, clk, echoes, errc, budget/4, 12)
	var te *llm.StartupTimeoutError
	if !errors.As(err, &te) || te.Budget != budget || !strings.HasPrefix(te.LastState, "loading") {
		t.Fatalf("WaitReady: %v, want a start-up timeout of %v while loading", err, budget)
	}
	if elapsed > budget+budget/4 {
		t.Fatalf("timed out after %v of fake time, want %v", elapsed, budget)
	}
}

// A server that writes a heartbeat and never listens.
func TestHeartbeatIsNotProgress(t *testing.T) {
	const budget = 2 * time.Second
	f := faultServer(t, "--fault-bind=after-load", "--fault-load=1h", "--fault-heartbeat=20ms")
	f.cfg.ReadyBudget = budget
	f.cfg.ReadyCap = -1
	beats := newLineSignal("heartbeat")
	f.cfg.LogWriter = beats
	clk, errc := startWithFakeClock(t, f)
	err, elapsed := stepUntilTimeout(t, clk, beats, errc, budget/4, 12)
	var te *llm.StartupTimeoutError
	if !errors.As(err, &te) || te.Budget != budget || te.LastState != "spawned" {
		t.Fatalf("WaitReady: %v, want a start-up timeout of %v while spawned", err, budget)
	}
	if elapsed > budget+budget/4 {
		t.Fatalf("timed out after %v of fake time, want %v", elapsed, budget)
	}
	if !strings.Contains(te.LogTail, "heartbeat") {
		t.Fatalf("log tail lacks the heartbeat: %q", te.LogTail)
	}
}

// A server whose loading progress rises for ever is ended by the default
// ceiling, ten budgets, not by the budget.
func TestDefaultCeilingEndsEndlessProgress(t *testing.T) {
	const budget = 10 * time.Second
	f := faultServer(t, "--fault-load=1h", "--fault-steps=1000000")
	f.cfg.ReadyBudget = budget
	probes := newLineSignal("request: GET /health")
	f.cfg.LogWriter = probes
	clk, errc := startWithFakeClock(t, f)
	err, elapsed := stepUntilTimeout(t, clk, probes, errc, budget/2, 30)
	var te *llm.StartupTimeoutError
	if !errors.As(err, &te) || te.Budget != ReadyCeiling(budget) {
		t.Fatalf("WaitReady: %v, want a start-up timeout at the ceiling %v", err, ReadyCeiling(budget))
	}
	if elapsed < ReadyCeiling(budget) {
		t.Fatalf("timed out after %v of fake time, before the ceiling", elapsed)
	}
}
