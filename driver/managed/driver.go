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
	opts     Options
	launcher *launcher
	servers  *restarter[*server]

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
	if err := opts.check(); err != nil {
		return nil, err
	}
	mf, err := inspectModel(opts.Model)
	if err != nil {
		return nil, err
	}
	budget := opts.ReadyBudget
	if budget <= 0 && opts.Overrides != nil {
		budget = opts.Overrides.ReadyTimeout
	}
	if budget <= 0 {
		budget = supervisor.ReadyBudget(mf.size)
	}
	var timeout time.Duration
	if opts.Overrides != nil {
		timeout = opts.Overrides.HTTPTimeout
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
		l := &launcher{opts: opts, profile: p, model: mf, budget: budget, ids: ids, timeout: timeout}
		s, err := l.launch(ctx)
		if err == nil {
			relaunch := func(ctx context.Context) (*server, error) {
				opts.Logger.Info("restarting the server", "backend", l.profile.Name)
				return l.launch(ctx)
			}
			d := &Driver{opts: opts, launcher: l,
				servers: newRestarter(s, relaunch, restartPolicy{Restart: opts.Restart})}
			return d, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || modelAtFault(err) || i == len(profiles)-1 {
			break
		}
		opts.Logger.Info("backend unavailable, trying the next", "backend", p.Name, "err", err)
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
	if s, ok := d.servers.current(); ok {
		return s.info
	}
	return llm.Info{Backend: d.launcher.profile.Name, Privacy: llm.Sovereign}
}

// PID is the running server's process id, or 0 if none runs.
func (d *Driver) PID() int {
	if s, ok := d.servers.current(); ok {
		return s.proc.PID()
	}
	return 0
}

// Launches counts the servers this driver has started (restarts
// included).
func (d *Driver) Launches() int { return d.servers.launches() }

// shape applies the operator's overrides, and says so in the log when
// they lower the caller's max_tokens.
func (d *Driver) shape(req llm.Request) llm.Request {
	if d.opts.Overrides == nil {
		return req
	}
	shaped := d.opts.Overrides.Apply(req)
	if req.MaxTokens > 0 && shaped.MaxTokens < req.MaxTokens {
		d.opts.Logger.Info("the operator's cap lowered max_tokens", "asked", req.MaxTokens, "sent", shaped.MaxTokens, "cap", EnvMaxTokensCap)
	}
	return shaped
}

// Complete sends one request to the server.
func (d *Driver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	for attempt := 0; ; attempt++ {
		s, err := d.server(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := s.api.Complete(ctx, d.shape(req))
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
			for ev, err := range s.api.Stream(ctx, d.shape(req)) {
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
	return d.opts.Restart && ctx.Err() == nil && errors.As(err, &te) && ended(s) && s.proc.ExitErr() != nil
}

// server returns a live server: the current one, or (with Restart) a new
// one when the current one died. Without Restart, a dead server's death
// is every later request's error.
func (d *Driver) server(ctx context.Context) (*server, error) {
	if d.closed.Load() {
		return nil, d.closedError()
	}
	s, err := d.servers.get(ctx)
	if errors.Is(err, errRestarterClosed) {
		return nil, d.closedError()
	}
	return s, err
}

func (d *Driver) closedError() error {
	return fmt.Errorf("managed %s: %w", d.launcher.profile.Name, llm.ErrClosed)
}

// ended reports whether s has ended.
func ended(s *server) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// The server methods a restarter needs.

func (s *server) Done() <-chan struct{}          { return s.proc.Done() }
func (s *server) Stop(ctx context.Context) error { return s.stop(ctx) }

// Death is why the server ended: its exit, diagnosed.
func (s *server) Death() error {
	if err := s.proc.ExitErr(); err != nil {
		return err
	}
	return &llm.ServerExitedError{Backend: s.info.Backend, PID: s.proc.PID(), ExitCode: -1}
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

// Close stops the server: SIGTERM to its process group, SIGKILL after the
// grace period. A restart in progress is abandoned. It is safe to call
// more than once.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		d.closeErr = d.servers.close(context.Background())
	})
	return d.closeErr
}
