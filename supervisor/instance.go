package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RestartPolicy says how an [Instance] restarts its server. The zero value
// gives the defaults.
type RestartPolicy struct {
	// Backoff is the wait before the first restart after a failure;
	// each further consecutive failure doubles it. Default: 500 ms.
	Backoff time.Duration
	// MaxBackoff caps the wait. Default: 30 s.
	MaxBackoff time.Duration
	// MaxFailures is how many consecutive failures (failed launches, or
	// servers that died soon after becoming ready) EnsureRunning accepts
	// before it stops trying and returns the last error. Default: 5;
	// negative means no limit.
	MaxFailures int
	// StableAfter is how long a server must have run for its death to
	// count as a fresh start rather than another failure. Default: 30 s.
	StableAfter time.Duration
}

func (r RestartPolicy) withDefaults() RestartPolicy {
	if r.Backoff <= 0 {
		r.Backoff = 500 * time.Millisecond
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 30 * time.Second
	}
	r.MaxBackoff = max(r.MaxBackoff, r.Backoff)
	if r.MaxFailures == 0 {
		r.MaxFailures = 5
	}
	if r.StableAfter <= 0 {
		r.StableAfter = 30 * time.Second
	}
	return r
}

// ErrInstanceClosed is returned by EnsureRunning after Close.
var ErrInstanceClosed = errors.New("tether: server instance is closed")

// Instance keeps one server running. It starts the server on the first
// EnsureRunning and starts a new one when it finds the old one dead. Every
// decision is made under one lock and every start is a single flight that
// all concurrent callers share, so two callers never start two servers.
type Instance struct {
	launch func(context.Context) (*Process, error)
	policy RestartPolicy

	life   context.Context // ends with Close; launches run under it
	cancel context.CancelFunc

	mu        sync.Mutex
	cur       *Process
	readyAt   time.Time
	pending   *launchCall
	failures  int
	lastErr   error
	notBefore time.Time
	launches  int
	closed    bool
}

type launchCall struct {
	done chan struct{}
	p    *Process
	err  error
}

// NewInstance returns an Instance that starts servers with launch — usually
// a closure that picks a fresh port and secrets and calls [Launch] — under
// policy. launch's context ends when the Instance is closed.
func NewInstance(launch func(context.Context) (*Process, error), policy RestartPolicy) *Instance {
	life, cancel := context.WithCancel(context.Background())
	return &Instance{launch: launch, policy: policy.withDefaults(), life: life, cancel: cancel}
}

// EnsureRunning returns the running server, starting one if there is none
// or the last one died. After a failure it waits out the backoff before
// starting again; after Policy.MaxFailures consecutive failures it returns
// the last error without trying. Cancelling ctx abandons the wait, not the
// start: the next caller gets the server it produces.
func (in *Instance) EnsureRunning(ctx context.Context) (*Process, error) {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil, ErrInstanceClosed
	}
	if in.cur != nil {
		select {
		case <-in.cur.Done():
			in.retire()
		default:
			p := in.cur
			in.mu.Unlock()
			return p, nil
		}
	}
	call := in.pending
	if call == nil {
		if in.policy.MaxFailures > 0 && in.failures >= in.policy.MaxFailures {
			err := in.lastErr
			in.mu.Unlock()
			return nil, fmt.Errorf("tether: server failed %d times in a row, not restarting: %w", in.failures, err)
		}
		call = &launchCall{done: make(chan struct{})}
		in.pending = call
		in.launches++
		go in.run(call, time.Until(in.notBefore))
	}
	in.mu.Unlock()
	select {
	case <-call.done:
		return call.p, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// retire forgets a dead server and counts its death. in.mu is held.
func (in *Instance) retire() {
	ranFor := time.Since(in.readyAt)
	if err := in.cur.ExitErr(); err != nil {
		in.lastErr = err
	} else {
		in.lastErr = fmt.Errorf("tether: %s (pid %d) ended", in.cur.Backend(), in.cur.PID())
	}
	in.cur = nil
	if ranFor >= in.policy.StableAfter {
		in.failures = 0
		return
	}
	in.fail()
}

// fail counts a failure and sets the backoff. in.mu is held.
func (in *Instance) fail() {
	in.failures++
	wait := in.policy.Backoff
	for i := 1; i < in.failures && wait < in.policy.MaxBackoff; i++ {
		wait *= 2
	}
	in.notBefore = time.Now().Add(min(wait, in.policy.MaxBackoff))
}

func (in *Instance) run(call *launchCall, wait time.Duration) {
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-in.life.Done():
		}
		t.Stop()
	}
	var p, orphan *Process
	err := in.life.Err()
	if err == nil {
		p, err = in.launch(in.life)
	}
	in.mu.Lock()
	in.pending = nil
	switch {
	case err != nil:
		in.lastErr = err
		in.fail()
	case in.closed:
		orphan, p, err = p, nil, ErrInstanceClosed
	default:
		in.cur, in.readyAt = p, time.Now()
	}
	in.mu.Unlock()
	if orphan != nil {
		orphan.Stop(context.Background())
	}
	call.p, call.err = p, err
	close(call.done)
}

// Launches is how many starts the Instance has begun.
func (in *Instance) Launches() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.launches
}

// Close stops the server, abandons any start in progress, and makes later
// EnsureRunning calls fail. It waits for the server to stop.
func (in *Instance) Close(ctx context.Context) error {
	in.mu.Lock()
	in.closed = true
	cur, call := in.cur, in.pending
	in.cur = nil
	in.mu.Unlock()
	in.cancel()
	if call != nil {
		select {
		case <-call.done: // prompt for Launch: its context has ended
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if cur != nil {
		return cur.Stop(ctx)
	}
	return nil
}
