package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetherllm/tether/llm"
)

// WaitReady waits until the server is ready: its probe says so and it is
// still running. It fails when the process exits
// ([*llm.ServerExitedError], classified, with the end of its output), when
// start-up shows no progress for Config.ReadyBudget or exceeds
// Config.ReadyCap ([*llm.StartupTimeoutError]), when another server answers
// in its place ([*ForeignServerError]), when the probe fails, or when ctx
// ends. It does not stop the process; [Launch] does. Once the server has
// been ready, WaitReady returns nil at once.
func (p *Process) WaitReady(ctx context.Context) error {
	p.readyMu.Lock()
	defer p.readyMu.Unlock()
	select {
	case <-p.done:
		return p.startupExitErr()
	default:
	}
	if p.State() == StateReady {
		return nil
	}
	if p.cfg.Probe == nil {
		return fmt.Errorf("%s: no readiness probe configured", p.cfg.Backend)
	}
	w := &readiness{p: p, cfg: &p.cfg}
	err := w.run(ctx)
	p.out.watching.Store(false)
	p.out.starting.Store(false)
	if err != nil && p.State() != StateStopped {
		w.set(Status{State: StateFailed, Detail: err.Error()})
	}
	return err
}

// startupExitErr is the error for a process found dead while waiting for it.
func (p *Process) startupExitErr() error {
	if p.exitErr != nil {
		return p.exitErr
	}
	return fmt.Errorf("%s (pid %d): %w", p.cfg.Backend, p.pid, ErrStopped)
}

// readiness is one run of the start-up state machine.
type readiness struct {
	p   *Process
	cfg *Config
	cur Status
}

type probeResult struct {
	st  Status
	err error
}

func (w *readiness) set(st Status) {
	w.cur = st
	if !w.p.setStartupState(st.State) {
		return // the process has ended; its end is what is reported
	}
	if w.cfg.OnState != nil {
		w.cfg.OnState(Event{Status: st, Elapsed: time.Since(w.p.started)})
	}
}

// advance takes a probe's status and reports what changed: the state, or
// only the loading progress. A status that goes backwards (a listener that
// stopped answering for a moment) is not shown.
func (w *readiness) advance(st Status) (stateChanged, progressed bool) {
	if st.State > StateReady || st.State < StateSpawned {
		// Only the process's own fate decides failure.
		st = Status{State: StateListening, Detail: fmt.Sprintf("probe said %s", st.State)}
	}
	switch {
	case st.State > w.cur.State:
		w.set(st)
		return true, true
	case st.State == w.cur.State && st.Progress > w.cur.Progress:
		w.set(st)
		return false, true
	case st.State == w.cur.State && st.Detail != w.cur.Detail:
		w.set(Status{State: w.cur.State, Progress: w.cur.Progress, Detail: st.Detail})
	}
	return false, false
}

func (w *readiness) run(ctx context.Context) error {
	cfg, p := w.cfg, w.p
	w.set(Status{State: StateSpawned})

	// The budget runs from the last sign of progress; the cap from the
	// start. The deadlines are checked when the wake timer fires, so that
	// progress costs no timer operation.
	clk := cfg.clock
	lastProgress := clk.Now()
	var capAt time.Time
	if cfg.ReadyCap > 0 {
		capAt = lastProgress.Add(cfg.ReadyCap - time.Since(p.started))
	}
	nextDeadline := func(now time.Time) time.Duration {
		d := lastProgress.Add(cfg.ReadyBudget).Sub(now)
		if !capAt.IsZero() {
			d = min(d, capAt.Sub(now))
		}
		return d
	}
	wake := clk.After(nextDeadline(lastProgress))
	next := time.NewTimer(0)
	defer next.Stop()

	results := make(chan probeResult, 1)
	probeCtx, cancelProbe := context.WithCancel(ctx)
	defer cancelProbe()
	inFlight, probeSoon := false, false
	interval := cfg.PollMin
	startProbe := func() {
		inFlight, probeSoon = true, false
		go func() {
			pctx, cancel := context.WithTimeout(probeCtx, cfg.ProbeTimeout)
			defer cancel()
			st, err := cfg.Probe(pctx)
			results <- probeResult{st, err}
		}()
	}
	timeout := func(budget time.Duration) error {
		return &llm.StartupTimeoutError{
			Backend:   cfg.Backend,
			Budget:    budget,
			LastState: w.cur.String(),
			LogTail:   errorTail(p.Tail(), ""),
		}
	}

	for {
		select {
		case <-p.done:
			return p.startupExitErr()
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to start: %w", cfg.Backend, ctx.Err())
		case <-wake:
			now := clk.Now()
			if !capAt.IsZero() && !now.Before(capAt) {
				return timeout(cfg.ReadyCap)
			}
			if now.Sub(lastProgress) >= cfg.ReadyBudget {
				return timeout(cfg.ReadyBudget)
			}
			wake = clk.After(nextDeadline(now))
		case <-p.out.news:
			// Output that is news (not an echo of our probes, not a
			// heartbeat) is a sign of progress.
			lastProgress = clk.Now()
		case <-p.out.announced:
			// The server said it is ready: look now.
			if inFlight {
				probeSoon = true
			} else {
				next.Reset(0)
			}
		case <-next.C:
			if !inFlight {
				startProbe()
			}
		case r := <-results:
			inFlight = false
			if r.err != nil {
				return w.probeFailed(ctx, r.err)
			}
			// Progress extends the budget; a new state also means the
			// next one may be near, so polling starts over fast.
			if stateChanged, progressed := w.advance(r.st); progressed {
				lastProgress = clk.Now()
				if stateChanged {
					interval = cfg.PollMin
				}
			}
			if w.cur.State == StateReady {
				select {
				case <-p.done: // it answered, then died
					return p.startupExitErr()
				default:
				}
				p.cfg.Logger.Debug("server ready", "backend", cfg.Backend, "pid", p.pid, "after", time.Since(p.started))
				p.contain.note() // the processes it started are known now
				return nil
			}
			if probeSoon {
				next.Reset(0)
			} else {
				next.Reset(interval)
				interval = min(interval+interval/2, cfg.PollMax)
			}
		}
	}
}

// probeFailed turns a probe's error into start-up's. When another server
// answered in our place, our own server has usually failed to bind and is
// about to exit saying so, which is the better report: wait a moment for it.
func (w *readiness) probeFailed(ctx context.Context, err error) error {
	p := w.p
	if !errors.Is(err, ErrNotOurs) {
		return fmt.Errorf("%s readiness probe: %w", w.cfg.Backend, err)
	}
	select {
	case <-p.done:
		exitErr := p.startupExitErr()
		var sx *llm.ServerExitedError
		if errors.As(exitErr, &sx) && sx.Cause == llm.CauseUnknown {
			// ExitErr has published sx already: report a copy.
			blamed := *sx
			blamed.Cause = llm.CausePortInUse
			return &blamed
		}
		return exitErr
	case <-time.After(foreignWait):
	case <-ctx.Done():
	}
	return &ForeignServerError{Backend: w.cfg.Backend, Reason: err.Error(), LogTail: errorTail(p.Tail(), "")}
}
