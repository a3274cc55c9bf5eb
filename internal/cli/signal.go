package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultForceAfter is how long a command may take to stop after the first
// signal before the process ends without waiting for it. tether run stops
// its server within the server's grace period and a bounded wait after
// SIGKILL (a few seconds); commands that take longer say so through
// [shutdownDeadline.set].
const defaultForceAfter = 15 * time.Second

// forceSlack is what tether serve adds to its --grace: the requests still
// running after the grace are cancelled and waited for, up to 5 s.
const forceSlack = 10 * time.Second

// errInterrupted is the error of a command cut short by a signal (or, in
// process, by its context ending). It wraps context.Canceled, which
// [exitCode] maps to 130.
type errInterrupted struct{ sig os.Signal }

func (e errInterrupted) Error() string {
	if e.sig == nil {
		return "interrupted"
	}
	return fmt.Sprintf("interrupted (%s)", signalName(e.sig))
}

// signalName is a signal as operators write it.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

func (errInterrupted) Unwrap() error { return context.Canceled }

// interrupted is the error to report for a command whose context ended:
// the signal that ended it, if one did, never a bare "context canceled".
func interrupted(ctx context.Context) error {
	var e errInterrupted
	if cause, ok := context.Cause(ctx).(errInterrupted); ok {
		e = cause
	}
	return e
}

// shutdownDeadline is how long the running command may take to stop after
// the first signal. A nil *shutdownDeadline (commands run in process by
// tests) ignores set.
type shutdownDeadline struct{ d atomic.Int64 }

func newShutdownDeadline() *shutdownDeadline {
	s := &shutdownDeadline{}
	s.d.Store(int64(defaultForceAfter))
	return s
}

func (s *shutdownDeadline) set(d time.Duration) {
	if s != nil {
		s.d.Store(int64(d))
	}
}

func (s *shutdownDeadline) get() time.Duration { return time.Duration(s.d.Load()) }

// errRequestInterrupted is the cause of a request that SIGINT abandoned
// while the command goes on.
var errRequestInterrupted = errors.New("request interrupted")

// requestInterrupter lets an interactive command (tether code's prompt)
// take SIGINT for itself: while one of its requests runs, SIGINT abandons
// that request and the command goes back to its prompt; at the prompt,
// SIGINT ends the command as usual. SIGTERM always ends it. A nil
// *requestInterrupter takes no signal.
type requestInterrupter struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc
}

// begin returns the context of one request, which interrupt cancels with
// errRequestInterrupted, and the func that ends the request.
func (r *requestInterrupter) begin(ctx context.Context) (context.Context, func()) {
	if r == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	r.mu.Lock()
	r.cancel = cancel
	r.mu.Unlock()
	return ctx, func() {
		r.mu.Lock()
		r.cancel = nil
		r.mu.Unlock()
		cancel(nil)
	}
}

// interrupt abandons the running request and reports whether there was
// one.
func (r *requestInterrupter) interrupt() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel == nil {
		return false
	}
	r.cancel(errRequestInterrupted)
	r.cancel = nil
	return true
}

// watchSignals turns signals into the command's end. The first cancels the
// command's context (with the signal as the cause) so that it stops
// cleanly: servers it started are stopped, requests in flight may finish.
// A second signal, or the deadline passing after the first, ends the
// process at once through exit: whatever the command is blocked on (a model
// file that never finishes reading, a server that ignores SIGTERM), the
// operator's signal is obeyed. A SIGINT that requests takes for a running
// request is not the first: it ends that request only. after is
// time.After outside tests.
func watchSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, w io.Writer,
	deadline *shutdownDeadline, requests *requestInterrupter, after func(time.Duration) <-chan time.Time, exit func(int)) {
	var sig os.Signal
	for sig == nil {
		s, ok := <-sigs
		if !ok {
			return
		}
		if s != os.Interrupt || !requests.interrupt() {
			sig = s
		}
	}
	cancel(errInterrupted{sig})
	grace := deadline.get()
	select {
	case again, ok := <-sigs:
		if !ok {
			return // the command finished; Main is returning
		}
		fmt.Fprintf(w, "tether: %s again: exiting now\n", signalName(again))
	case <-after(grace):
		fmt.Fprintf(w, "tether: still stopping %s after %s: exiting now\n", signalName(sig), grace)
	}
	exit(ExitInterrupted)
}
