package managed

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/supervisor"
	"github.com/tetherllm/tether/toolcall"
)

// Driver is an llm.Driver backed by a server process it launched and
// owns. It is safe for concurrent use.
type Driver struct {
	opts      Options
	overrides Overrides
	launcher  *launcher

	mu      sync.Mutex
	current *server
	// dead is the error of a server that died, returned to every later
	// request when Restart is off.
	dead     error
	launches int
	// restart serialises relaunches; restartAt is when the next may run.
	restartMu sync.Mutex
	restartAt time.Time
	failures  int

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ llm.Driver = (*Driver)(nil)

// Launch starts a server for opts.Model and returns a driver for it once
// the server is ready. It fails with *llm.ModelFileError when the model
// file is missing or invalid, *llm.BinaryNotFoundError when the backend's
// program is not installed, *llm.StartupTimeoutError or
// *llm.ServerExitedError when the server does not come up, and
// *llm.ConfigError for an operator override that does not parse.
//
// With Backend "auto" it tries apr, then llama-server (each only if
// installed), then tether's own server, moving on when one cannot start;
// a bad model file stops it at once.
func Launch(ctx context.Context, opts Options) (*Driver, error) {
	opts = opts.withDefaults()
	overrides, err := OverridesFromEnv(opts.Getenv)
	if err != nil {
		return nil, err
	}
	mf, err := inspectModel(opts.Model)
	if err != nil {
		return nil, err
	}
	budget := opts.ReadyBudget
	if budget <= 0 {
		secs, err := supervisor.ReadyTimeoutSecs(mf.size, opts.Getenv(supervisor.ReadyTimeoutEnv))
		if err != nil {
			return nil, err
		}
		budget = time.Duration(secs) * time.Second
	}
	var profiles []backend.Profile
	if opts.Backend == "auto" {
		profiles = backend.Auto(opts.Profiles)
	} else {
		p, err := backend.Lookup(opts.Backend, opts.Profiles)
		if err != nil {
			return nil, &llm.ConfigError{Setting: "backend", Value: opts.Backend, Reason: err.Error()}
		}
		profiles = []backend.Profile{p}
	}
	ids := toolcall.NewIDs()
	var errs []error
	for i, p := range profiles {
		l := &launcher{opts: opts, profile: p, model: mf, budget: budget, ids: ids, timeout: overrides.HTTPTimeout}
		s, err := l.launch(ctx)
		if err == nil {
			d := &Driver{opts: opts, overrides: overrides, launcher: l, current: s, launches: 1}
			return d, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || modelAtFault(err) || i == len(profiles)-1 {
			break
		}
		opts.Logger.Info("tether: backend unavailable, trying the next", "backend", p.Name, "err", err)
		opts.OnProgress(Progress{Backend: p.Name, Err: err})
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, errs[len(errs)-1]
}

// modelAtFault reports whether a launch failed because of the model file,
// which no other backend would fix.
func modelAtFault(err error) bool {
	var exited *llm.ServerExitedError
	var mf *llm.ModelFileError
	return errors.As(err, &mf) || (errors.As(err, &exited) && exited.Cause == llm.CauseBadModel)
}

// Info describes the model and the server that runs it.
func (d *Driver) Info() llm.Info {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.current != nil {
		return d.current.info
	}
	return llm.Info{Backend: d.launcher.profile.Name, Privacy: llm.Sovereign}
}

// Process returns the running server process, or nil if none runs.
func (d *Driver) Process() *supervisor.Process {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.current == nil {
		return nil
	}
	return d.current.proc
}

// Launches counts the servers this driver has started (restarts
// included).
func (d *Driver) Launches() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.launches
}

// Complete sends one request to the server.
func (d *Driver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	for attempt := 0; ; attempt++ {
		s, err := d.server(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := s.api.Complete(ctx, d.overrides.Apply(req))
		if err != nil {
			explained := d.explain(s, err)
			if attempt == 0 && d.resend(ctx, s, err) {
				continue
			}
			return nil, explained
		}
		return resp, nil
	}
}

// Stream sends one request to the server and yields its events.
func (d *Driver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		for attempt := 0; ; attempt++ {
			s, err := d.server(ctx)
			if err != nil {
				yield(llm.Event{}, err)
				return
			}
			events := 0
			retry := false
			for ev, err := range s.api.Stream(ctx, d.overrides.Apply(req)) {
				if err != nil {
					explained := d.explain(s, err)
					if attempt == 0 && events == 0 && d.resend(ctx, s, err) {
						retry = true
						break
					}
					yield(llm.Event{}, explained)
					return
				}
				events++
				if !yield(ev, nil) {
					return
				}
			}
			if !retry {
				return
			}
		}
	}
}

// resend reports whether a request that failed with err before the
// caller saw anything of its answer goes once more, to a restarted
// server: with Restart on, when the connection failed (a transport error,
// not the server's answer) and the server has died. The death may have
// come before the request: it is noticed a moment after it happens (the
// exit is reaped and the leftovers killed first), and a pooled connection
// to a dead server fails only once it is used, so a request sent in that
// moment would otherwise fail although a moment later it would have gone
// to the new server. A request that was what killed the server is tried
// once more, no more; generating an answer has no effect to repeat.
// [Driver.explain] has already waited for the death to be noticed.
func (d *Driver) resend(ctx context.Context, s *server, err error) bool {
	var te *llm.TransportError
	return d.opts.Restart && ctx.Err() == nil && errors.As(err, &te) && exited(s) && s.proc.ExitErr() != nil
}

// server returns a live server: the current one, or (with Restart) a new
// one when the current one died.
func (d *Driver) server(ctx context.Context) (*server, error) {
	if d.closed.Load() {
		return nil, fmt.Errorf("tether: managed %s: %w", d.launcher.profile.Name, llm.ErrClosed)
	}
	d.mu.Lock()
	s := d.current
	if s != nil && !exited(s) {
		d.mu.Unlock()
		return s, nil
	}
	if s != nil { // it died since the last request
		d.retire(s)
	}
	dead := d.dead
	d.mu.Unlock()
	if !d.opts.Restart {
		return nil, dead
	}
	return d.relaunch(ctx)
}

// retire records the death of s; d.mu is held.
func (d *Driver) retire(s *server) {
	d.dead = s.proc.ExitErr()
	if d.dead == nil {
		d.dead = &llm.ServerExitedError{Backend: d.launcher.profile.Name, PID: s.proc.PID(), ExitCode: -1}
	}
	d.current = nil
	s.stop(context.Background()) // reap and clean up; it is already dead
}

// relaunch starts a new server, one caller at a time, with backoff after
// consecutive failures.
func (d *Driver) relaunch(ctx context.Context) (*server, error) {
	d.restartMu.Lock()
	defer d.restartMu.Unlock()
	d.mu.Lock()
	if s := d.current; s != nil && !exited(s) { // another caller restarted it
		d.mu.Unlock()
		return s, nil
	}
	d.mu.Unlock()
	if wait := time.Until(d.restartAt); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	d.opts.Logger.Info("tether: restarting the server", "backend", d.launcher.profile.Name, "after", d.dead)
	s, err := d.launcher.launch(ctx)
	if err != nil {
		d.failures++
		d.restartAt = time.Now().Add(min(time.Duration(1<<min(d.failures, 6))*250*time.Millisecond, 15*time.Second))
		return nil, err
	}
	d.failures = 0
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		s.stop(context.Background())
		return nil, fmt.Errorf("tether: managed %s: %w", d.launcher.profile.Name, llm.ErrClosed)
	}
	d.current, d.dead = s, nil
	d.launches++
	return s, nil
}

// explain turns a failed request into the server's death when that is
// what happened: a broken connection from a server that exited is a
// *llm.ServerExitedError with the server's last words, not a bare
// transport error.
func (d *Driver) explain(s *server, err error) error {
	var te *llm.TransportError
	if !errors.As(err, &te) {
		return err
	}
	// The connection usually breaks a moment before the exit is seen.
	select {
	case <-s.proc.Done():
	case <-time.After(100 * time.Millisecond):
		return err
	}
	if exitErr := s.proc.ExitErr(); exitErr != nil {
		return exitErr
	}
	return err
}

func exited(s *server) bool {
	select {
	case <-s.proc.Done():
		return true
	default:
		return false
	}
}

// Close stops the server: SIGTERM to its process group, SIGKILL after the
// grace period. It is safe to call more than once.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		d.mu.Lock()
		s := d.current
		d.current = nil
		d.mu.Unlock()
		if s != nil {
			d.closeErr = s.stop(context.Background())
		}
	})
	return d.closeErr
}
