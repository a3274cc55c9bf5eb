package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// endedProcess is a Process whose child has exited with exitErr, as the
// wait goroutine leaves it.
func endedProcess(exitErr error) *Process {
	p := &Process{done: make(chan struct{}), exitErr: exitErr}
	p.cfg.Backend = "test"
	p.state.Store(int32(StateFailed))
	close(p.done)
	return p
}

// TestPublishedExitErrorNeverChanges: when another server answered in
// our place and ours then exited for no known reason, start-up blames the
// port, on a copy: the error ExitErr already handed out stays as it was
// while other goroutines read it.
func TestPublishedExitErrorNeverChanges(t *testing.T) {
	published := &llm.ServerExitedError{Backend: "test", PID: 7, ExitCode: 1, Cause: llm.CauseUnknown}
	p := endedProcess(published)
	w := &readiness{p: p, cfg: &p.cfg}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			if published.Cause != llm.CauseUnknown {
				t.Error("the published error changed")
				return
			}
		}
	})
	err := w.probeFailed(context.Background(), fmt.Errorf("probe: %w", ErrNotOurs))
	wg.Wait()
	var sx *llm.ServerExitedError
	if !errors.As(err, &sx) || sx.Cause != llm.CausePortInUse || sx == published {
		t.Errorf("start-up error %v, want a copy blaming the port", err)
	}
	if published.Cause != llm.CauseUnknown {
		t.Errorf("the published error's cause became %v", published.Cause)
	}
}

// TestEndedProcessIsNeverReady: a probe's answer that arrives after the
// process has died cannot make it ready, nor be reported as a state.
func TestEndedProcessIsNeverReady(t *testing.T) {
	p := endedProcess(&llm.ServerExitedError{Backend: "test"})
	reported := 0
	p.cfg.OnState = func(Event) { reported++ }
	w := &readiness{p: p, cfg: &p.cfg}
	w.set(Status{State: StateReady})
	if p.State() != StateFailed || reported != 0 {
		t.Errorf("state %v after a late ready probe (%d reports), want %v", p.State(), reported, StateFailed)
	}
}
