package router

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tetherllm/tether/llm"
)

// Member is one driver of a route.
type Member struct {
	// Name identifies the driver in metrics, errors and
	// [llm.Served.Driver]. Names are unique within a route.
	Name string
	// Driver is the driver, when it is already open.
	Driver llm.Driver
	// Open makes the driver on its first use, when Driver is nil: a
	// managed server is launched, or a remote one dialled, only when the
	// route gets that far. A failed Open is tried again by the next
	// request.
	Open func(ctx context.Context) (llm.Driver, error)
	// Privacy is where the driver's data goes, known before it is
	// opened. Zero takes Driver's Info (and is required with Open).
	// After Open the driver's own Info must agree: a driver that reports
	// a wider tier is refused.
	Privacy llm.PrivacyTier
	// Price is what the driver charges, for cost estimates.
	Price Price
}

// Options configure [New].
type Options struct {
	// Name is the route's name, for errors and logs.
	Name string
	// Privacy is the widest tier the route may send data to. Default:
	// sovereign (nothing leaves the machine).
	Privacy llm.PrivacyTier
	// Logger receives a line for each fallback. Default: slog.Default().
	Logger *slog.Logger
}

// Router is an [llm.Driver] that sends each request to the first of its
// members that the privacy tier allows and that works, in order. It is
// safe for concurrent use.
type Router struct {
	name    string
	tier    llm.PrivacyTier
	log     *slog.Logger
	members []*member

	mu       sync.Mutex
	closed   bool
	answered llm.Driver // the driver that answered last
}

// member is a Member with its opened driver and counts.
type member struct {
	Member
	open    sync.Mutex // serialises Open
	driver  llm.Driver // guarded by open
	metrics Metrics    // guarded by Router.mu
}

// New makes a router over members, in order of preference. It refuses a
// route without members, with unnamed or repeated names, and with a
// member whose privacy tier the route does not allow: that is a
// configuration error, not something to skip at every request.
func New(o Options, members ...Member) (*Router, error) {
	if o.Privacy == 0 {
		o.Privacy = llm.Sovereign
	}
	if o.Privacy < llm.Sovereign || o.Privacy > llm.Standard {
		return nil, fmt.Errorf("route %q: invalid privacy tier %d", o.Name, int(o.Privacy))
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("route %q has no drivers", o.Name)
	}
	r := &Router{name: o.Name, tier: o.Privacy, log: o.Logger}
	seen := map[string]bool{}
	for i, m := range members {
		switch {
		case m.Name == "":
			return nil, fmt.Errorf("route %q: driver %d has no name", o.Name, i+1)
		case seen[m.Name]:
			return nil, fmt.Errorf("route %q names the driver %q twice", o.Name, m.Name)
		case m.Driver == nil && m.Open == nil:
			return nil, fmt.Errorf("route %q: driver %q has neither a driver nor a way to open one", o.Name, m.Name)
		case m.Driver == nil && m.Privacy == 0:
			return nil, fmt.Errorf("route %q: driver %q: the privacy tier of a driver opened on use must be given", o.Name, m.Name)
		}
		seen[m.Name] = true
		if m.Privacy == 0 {
			m.Privacy = m.Driver.Info().Privacy
		}
		if !o.Privacy.Allows(m.Privacy) {
			return nil, &PrivacyError{Route: o.Name, Tier: o.Privacy, Refused: []string{fmt.Sprintf("%s (%s)", m.Name, m.Privacy)}}
		}
		r.members = append(r.members, &member{Member: m, driver: m.Driver, metrics: Metrics{Driver: m.Name, Privacy: m.Privacy}})
	}
	return r, nil
}

// AttemptError is one driver's failure, as the router returns it.
type AttemptError struct {
	Driver string
	Err    error
}

func (e *AttemptError) Error() string {
	return e.Driver + ": " + e.Err.Error()
}

func (e *AttemptError) Unwrap() error { return e.Err }

// ExhaustedError means every driver the route allows failed, each in a
// way that let the router try the next. errors.As finds each failure.
type ExhaustedError struct {
	Route    string
	Attempts []*AttemptError
}

func (e *ExhaustedError) Error() string {
	parts := make([]string, len(e.Attempts))
	for i, a := range e.Attempts {
		parts[i] = a.Error()
	}
	return fmt.Sprintf("route %q: every driver failed: %s", e.Route, strings.Join(parts, "; "))
}

func (e *ExhaustedError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a
	}
	return errs
}

// Retryable is true when every failure was: the route may work later.
func (e *ExhaustedError) Retryable() bool {
	for _, a := range e.Attempts {
		if !llm.Retryable(a.Err) {
			return false
		}
	}
	return len(e.Attempts) > 0
}

// attempt is the state of one request as it walks the route.
type attempt struct {
	r       *Router
	ctx     context.Context
	tier    llm.PrivacyTier
	tried   int
	failed  []*AttemptError
	refused []string
}

func (r *Router) begin(ctx context.Context) (*attempt, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("route %q: %w", r.name, llm.ErrClosed)
	}
	tier := r.tier
	if t, ok := ctx.Value(tierKey{}).(llm.PrivacyTier); ok && t < tier {
		tier = t
	}
	return &attempt{r: r, ctx: ctx, tier: tier}, nil
}

// next opens the members in order and returns the next one the tier
// allows, with its driver; ok is false when none is left. A member that
// fails to open is handled like a failed request.
func (a *attempt) next(from int) (i int, m *member, d llm.Driver, err error, ok bool) {
	for i = from; i < len(a.r.members); i++ {
		m = a.r.members[i]
		if !a.tier.Allows(m.Privacy) {
			a.refuse(m, m.Privacy)
			continue
		}
		a.tried++
		a.r.count(m, func(x *Metrics) { x.Attempts++ })
		d, err = m.get(a.ctx)
		if err == nil {
			if got := d.Info().Privacy; !a.tier.Allows(got) || !m.Privacy.Allows(got) {
				a.tried--
				a.r.count(m, func(x *Metrics) { x.Attempts-- })
				a.refuse(m, got)
				continue
			}
		}
		return i, m, d, err, true
	}
	return i, nil, nil, nil, false
}

func (a *attempt) refuse(m *member, t llm.PrivacyTier) {
	a.refused = append(a.refused, fmt.Sprintf("%s (%s)", m.Name, t))
	a.r.count(m, func(x *Metrics) { x.Refused++ })
}

// fail records a member's failure and says whether to try the next one;
// when not, it returns the error for the caller.
func (a *attempt) fail(i int, m *member, err error, started bool) (error, bool) {
	a.r.count(m, func(x *Metrics) { x.Failures++ })
	ae := &AttemptError{Driver: m.Name, Err: err}
	if started || a.ctx.Err() != nil || !ShouldFallback(err) {
		return ae, false
	}
	a.failed = append(a.failed, ae)
	if !a.moreAllowed(i + 1) {
		return a.exhausted(), false
	}
	a.r.count(m, func(x *Metrics) { x.Fallbacks++ })
	a.r.log.Warn("router: falling back", "route", a.r.name, "driver", m.Name, "err", err)
	return nil, true
}

// moreAllowed reports whether a member from index i on may be tried.
func (a *attempt) moreAllowed(i int) bool {
	for _, m := range a.r.members[i:] {
		if a.tier.Allows(m.Privacy) {
			return true
		}
	}
	return false
}

// exhausted is the error when no member is left.
func (a *attempt) exhausted() error {
	if len(a.failed) == 0 {
		return &PrivacyError{Route: a.r.name, Tier: a.tier, Refused: a.refused}
	}
	if len(a.failed) == 1 && len(a.refused) == 0 && len(a.r.members) == 1 {
		return a.failed[0]
	}
	return &ExhaustedError{Route: a.r.name, Attempts: a.failed}
}

// succeed records a member's answer and marks resp with it.
func (a *attempt) succeed(m *member, d llm.Driver, resp *llm.Response, took time.Duration) *llm.Response {
	info := d.Info()
	cost := m.Price.Cost(resp.Usage)
	out := *resp
	out.Served = &llm.Served{
		Driver: m.Name, Model: info.Model, Backend: info.Backend, ContextWindow: info.ContextWindow,
		Privacy: info.Privacy, Attempts: a.tried, CostUSD: cost,
	}
	a.r.mu.Lock()
	a.r.answered = d
	x := &m.metrics
	x.Successes++
	x.Latency += took
	x.InputTokens += resp.Usage.InputTokens
	x.OutputTokens += resp.Usage.OutputTokens
	x.CostUSD += cost
	a.r.mu.Unlock()
	return &out
}

func (r *Router) count(m *member, f func(*Metrics)) {
	r.mu.Lock()
	f(&m.metrics)
	r.mu.Unlock()
}

// get returns the member's driver, opening it if need be.
func (m *member) get(ctx context.Context) (llm.Driver, error) {
	m.open.Lock()
	defer m.open.Unlock()
	if m.driver != nil {
		return m.driver, nil
	}
	d, err := m.Open(ctx)
	if err != nil {
		return nil, err
	}
	m.driver = d
	return d, nil
}

// opened returns the member's driver if it is open, without opening it.
func (m *member) opened() llm.Driver {
	if !m.open.TryLock() {
		return nil // being opened: not yet usable
	}
	defer m.open.Unlock()
	return m.driver
}

// Complete sends req to the route's drivers in order until one answers or
// one fails in a way that does not allow a fallback.
func (r *Router) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	a, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		var (
			m  *member
			d  llm.Driver
			ok bool
		)
		if i, m, d, err, ok = a.next(i); !ok {
			return nil, a.exhausted()
		}
		start := time.Now()
		if err == nil {
			var resp *llm.Response
			if resp, err = d.Complete(ctx, req); err == nil {
				return a.succeed(m, d, resp, time.Since(start)), nil
			}
		}
		if err, again := a.fail(i, m, err, false); !again {
			return nil, err
		}
	}
}

// Stream streams req from the first driver that starts answering. A
// failure before the driver's first event moves on as Complete does; a
// failure after it ends the stream, since the caller has seen part of an
// answer.
func (r *Router) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		if err := req.Validate(); err != nil {
			yield(llm.Event{}, err)
			return
		}
		a, err := r.begin(ctx)
		if err != nil {
			yield(llm.Event{}, err)
			return
		}
		for i := 0; ; i++ {
			var (
				m  *member
				d  llm.Driver
				ok bool
			)
			if i, m, d, err, ok = a.next(i); !ok {
				yield(llm.Event{}, a.exhausted())
				return
			}
			started := false
			if err == nil {
				start := time.Now()
				done := false
				for ev, serr := range d.Stream(ctx, req) {
					if serr != nil {
						err = serr
						break
					}
					if ev.Kind == llm.EventDone && ev.Response != nil {
						ev.Response = a.succeed(m, d, ev.Response, time.Since(start))
						done = true
					}
					started = true
					if !yield(ev, nil) || done {
						return
					}
				}
				if err == nil {
					err = &llm.ProtocolError{Reason: "stream ended without a final event"}
				}
			}
			if err, again := a.fail(i, m, err, started); !again {
				yield(llm.Event{}, err)
				return
			}
		}
	}
}

// Info describes the route through the driver that answered last, or
// else its first opened driver: its model and context window, the widest
// privacy tier among the route's drivers, backend "router". Info opens
// nothing.
func (r *Router) Info() llm.Info {
	r.mu.Lock()
	answered := r.answered
	r.mu.Unlock()
	var info llm.Info
	if answered != nil {
		info = answered.Info()
	} else {
		for _, m := range r.members {
			if d := m.opened(); d != nil {
				info = d.Info()
				break
			}
		}
	}
	if info.Model == "" {
		info.Model = r.members[0].Name
	}
	info.Backend = "router"
	info.Address = ""
	info.Privacy = 0
	for _, m := range r.members {
		info.Privacy = max(info.Privacy, m.Privacy)
	}
	return info
}

// Metrics returns each driver's counts, in route order.
func (r *Router) Metrics() []Metrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Metrics, len(r.members))
	for i, m := range r.members {
		out[i] = m.metrics
	}
	return out
}

// Close closes every driver the router opened or was given. Later calls
// fail with [llm.ErrClosed].
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	var errs []error
	for _, m := range r.members {
		m.open.Lock()
		if m.driver != nil {
			if err := m.driver.Close(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			}
		}
		m.open.Unlock()
	}
	return errors.Join(errs...)
}

var _ llm.Driver = (*Router)(nil)
