package managed

import (
	"context"
	"errors"
	"sync"
	"time"
)

// running is what a restarter keeps alive: a started server.
type running interface {
	// Done is closed when the server has ended.
	Done() <-chan struct{}
	// Death says why it ended, once Done is closed.
	Death() error
	// Stop stops it and releases what its start made.
	Stop(ctx context.Context) error
}

// restartPolicy says when a restarter starts a new server.
type restartPolicy struct {
	// Restart starts a new server when the current one has died. Without
	// it, the death is the answer to every later call.
	Restart bool
	// Backoff is the wait before the first start after a failure; each
	// further consecutive failure doubles it, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// StableAfter is how long a server must have run for its death to
	// count as a fresh start rather than another failure.
	StableAfter time.Duration
}

// The restart defaults: quick enough that an agent barely notices a
// crash, slow enough that a server that cannot start does not spin.
const (
	defaultBackoff     = 500 * time.Millisecond
	defaultMaxBackoff  = 30 * time.Second
	defaultStableAfter = 30 * time.Second
)

// errRestarterClosed is a start abandoned by close.
var errRestarterClosed = errors.New("closed")

// restarter keeps one server running. Every decision is made under one
// lock, and every start is a single flight that all concurrent callers
// share, so two callers never start two servers. It is the only restart
// mechanism: the driver's Restart option is its policy.
type restarter[T running] struct {
	launch func(context.Context) (T, error)
	policy restartPolicy
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time

	life   context.Context // ends with close; starts run under it
	cancel context.CancelFunc

	mu        sync.Mutex
	cur       T
	live      bool // cur is set
	readyAt   time.Time
	pending   *start[T]
	failures  int
	death     error // why the last server ended, or the last start failed
	notBefore time.Time
	starts    int
	closed    bool
}

type start[T running] struct {
	done chan struct{}
	s    T
	err  error
}

// newRestarter returns a restarter that keeps first running and, as the
// policy allows, replaces it with launch.
func newRestarter[T running](first T, launch func(context.Context) (T, error), policy restartPolicy) *restarter[T] {
	if policy.Backoff <= 0 {
		policy.Backoff = defaultBackoff
	}
	if policy.MaxBackoff <= 0 {
		policy.MaxBackoff = defaultMaxBackoff
	}
	policy.MaxBackoff = max(policy.MaxBackoff, policy.Backoff)
	if policy.StableAfter <= 0 {
		policy.StableAfter = defaultStableAfter
	}
	life, cancel := context.WithCancel(context.Background())
	return &restarter[T]{
		launch: launch, policy: policy, now: time.Now, after: time.After,
		life: life, cancel: cancel,
		cur: first, live: true, readyAt: time.Now(), starts: 1,
	}
}

// get returns the running server. When the last one died it returns that
// death, or, with Restart, starts a new one (after the backoff when
// starts have been failing) and returns it. Ending ctx abandons the wait,
// not the start: the next caller gets the server it produces.
func (r *restarter[T]) get(ctx context.Context) (T, error) {
	var zero T
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return zero, errRestarterClosed
	}
	if r.live {
		select {
		case <-r.cur.Done():
			r.retire()
		default:
			s := r.cur
			r.mu.Unlock()
			return s, nil
		}
	}
	if !r.policy.Restart {
		err := r.death
		r.mu.Unlock()
		return zero, err
	}
	call := r.pending
	if call == nil {
		call = &start[T]{done: make(chan struct{})}
		r.pending = call
		r.starts++
		go r.run(call, r.notBefore.Sub(r.now()))
	}
	r.mu.Unlock()
	select {
	case <-call.done:
		return call.s, call.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// current is the running server, if there is one.
func (r *restarter[T]) current() (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.live
}

// launches counts the starts, the first server's included.
func (r *restarter[T]) launches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts
}

// retire forgets a dead server, stops what is left of it, and counts its
// death as a failure when it did not run long. r.mu is held.
func (r *restarter[T]) retire() {
	dead := r.cur
	var zero T
	r.cur, r.live = zero, false
	r.death = dead.Death()
	dead.Stop(context.Background()) // reap and clean up; it has ended
	if r.now().Sub(r.readyAt) >= r.policy.StableAfter {
		r.failures = 0
		return
	}
	r.fail()
}

// fail counts a failure and sets the backoff. r.mu is held.
func (r *restarter[T]) fail() {
	r.failures++
	wait := r.policy.Backoff
	for i := 1; i < r.failures && wait < r.policy.MaxBackoff; i++ {
		wait *= 2
	}
	r.notBefore = r.now().Add(min(wait, r.policy.MaxBackoff))
}

func (r *restarter[T]) run(call *start[T], wait time.Duration) {
	if wait > 0 {
		select {
		case <-r.after(wait):
		case <-r.life.Done():
		}
	}
	var s T
	err := r.life.Err()
	if err == nil {
		s, err = r.launch(r.life)
	}
	var orphan T
	var stray bool
	r.mu.Lock()
	r.pending = nil
	switch {
	case err != nil && r.life.Err() != nil:
		err = errRestarterClosed
	case err != nil:
		r.death = err
		r.fail()
	case r.closed:
		orphan, stray = s, true
		err = errRestarterClosed
	default:
		r.cur, r.live, r.readyAt = s, true, r.now()
	}
	r.mu.Unlock()
	if stray {
		orphan.Stop(context.Background())
	}
	if err != nil {
		var zero T
		s = zero
	}
	call.s, call.err = s, err
	close(call.done)
}

// close stops the server, abandons any start in progress, and makes later
// calls fail. It waits for the server to stop.
func (r *restarter[T]) close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	cur, live, call := r.cur, r.live, r.pending
	var zero T
	r.cur, r.live = zero, false
	r.mu.Unlock()
	r.cancel()
	if call != nil {
		select {
		case <-call.done: // prompt: the start's context has ended
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if live {
		return cur.Stop(ctx)
	}
	return nil
}
