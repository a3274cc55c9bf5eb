package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"
	"time"

	"github.com/tetherllm/tether/llm"
)

// Timeouts bound the phases of a request separately; 0 leaves a phase
// unbounded (beyond the caller's context).
type Timeouts struct {
	// Connect bounds opening the connection (TCP, not TLS); 0 leaves it
	// to the system.
	Connect time.Duration
	// FirstByte bounds the wait from the request's last byte sent to the
	// answer's headers: a server that takes the request and says nothing.
	FirstByte time.Duration
	// Idle bounds each wait for more of the answer's body: a stream that
	// stalls. Only time spent waiting for the server counts, not time the
	// caller spends between reads.
	Idle time.Duration
}

// Retry says how a request that failed before its answer began is sent
// again. Only failures where nothing of an answer arrived are retried:
// a connection refused, reset or timed out before the headers, and the
// statuses 408, 429, 500, 502, 503, 504 and 529. Any other status (a 400,
// a 401, a 404) is final, and so is a failure once the answer's body has
// begun: its bytes have gone to the caller.
type Retry struct {
	// Attempts is how many times a request is sent again; 0 never.
	Attempts int
	// Base is the first backoff; each later one doubles, up to MaxDelay,
	// and each is jittered to between half and all of it. 0 means 500 ms.
	Base time.Duration
	// MaxDelay caps a backoff; 0 means 30 s. A server's Retry-After is
	// waited for in full when it is longer than the backoff, unless it is
	// longer than MaxDelay: then the answer is returned at once, with
	// its Retry-After, for the caller (or a router) to decide.
	MaxDelay time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests replace it
	// so that no test waits on the clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

const (
	defaultBase     = 500 * time.Millisecond
	defaultMaxDelay = 30 * time.Second
)

// TransportOptions configure [NewGuardedTransport].
type TransportOptions struct {
	// Socket, if set, is the unix socket every request dials.
	Socket   string
	Egress   Egress
	Timeouts Timeouts
	Retry    Retry
	// Now tells the time, for Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Logger receives a debug line per retry (status or error and the
	// wait; never headers or content); nil discards them.
	Logger *slog.Logger
}

// Transport is an http.RoundTripper that enforces a privacy tier on
// every dial, bounds each phase of a request, and retries requests whose
// answer never began.
type Transport struct {
	base  *http.Transport
	opts  TransportOptions
	log   *slog.Logger
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// NewGuardedTransport returns a pooled transport with the egress check,
// timeouts and retries of o.
func NewGuardedTransport(o TransportOptions) *Transport {
	base := NewTransport("")
	d := &net.Dialer{Timeout: max(o.Timeouts.Connect, 0), KeepAlive: 30 * time.Second}
	if o.Socket != "" {
		base.Proxy = nil
		socket := o.Socket
		base.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, "unix", socket)
			return connectError(ctx, d, c, err)
		}
	} else {
		base.DialContext = o.Egress.dialer(d)
		if o.Egress.Enforced() {
			// A proxy would be the address dialed, and the target's
			// address would go unchecked: a checked tier connects
			// directly.
			base.Proxy = nil
		}
	}
	t := &Transport{base: base, opts: o, log: o.Logger, sleep: o.Retry.Sleep, now: o.Now}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.sleep == nil {
		t.sleep = sleep
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.opts.Retry.Base <= 0 {
		t.opts.Retry.Base = defaultBase
	}
	if t.opts.Retry.MaxDelay <= 0 {
		t.opts.Retry.MaxDelay = defaultMaxDelay
	}
	return t
}

// CloseIdleConnections closes the pool's idle connections.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// RoundTrip sends req, and sends it again while its failure is
// retryable and attempts are left.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		try := req
		if attempt > 0 {
			try = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				try.Body = body
			}
		}
		resp, err := t.once(try)
		wait, again := t.retryAfter(req, resp, err, attempt)
		if !again {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			t.log.Debug("httpapi: retrying", "status", resp.StatusCode, "attempt", attempt+1, "wait", wait)
		} else {
			t.log.Debug("httpapi: retrying", "err", err, "attempt", attempt+1, "wait", wait)
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryAfter decides whether a failed attempt is sent again, and after
// how long.
func (t *Transport) retryAfter(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	r := t.opts.Retry
	if attempt >= r.Attempts || req.Context().Err() != nil {
		return 0, false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return 0, false // the body cannot be sent twice
	}
	var asked time.Duration
	switch {
	case err != nil:
		if !retryableTransport(err) {
			return 0, false
		}
	case retryableStatus(resp.StatusCode):
		asked = RetryAfter(resp.Header, t.now())
		if asked > r.MaxDelay {
			return 0, false
		}
	default:
		return 0, false
	}
	backoff := r.Base << min(attempt, 30)
	if backoff <= 0 || backoff > r.MaxDelay {
		backoff = r.MaxDelay
	}
	wait := backoff/2 + rand.N(backoff/2+1)
	return max(wait, asked), true
}

// retryableStatus lists the answers that say "not now" rather than "not
// this": timeout, rate limiting, and server failures and overload.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, 529:
		return true
	}
	return false
}

// retryableTransport tells failures before an answer began that another
// attempt may not meet: refused, reset, closed, timed out, a name that
// did not resolve for now. A privacy refusal, a bad certificate or a
// malformed answer are final.
func retryableTransport(err error) bool {
	var (
		pe *llm.PrivacyError
		te *llm.TimeoutError
		de *net.DNSError
	)
	switch {
	case errors.As(err, &pe):
		return false
	case errors.As(err, &te):
		return true
	case errors.As(err, &de):
		return de.IsTimeout || de.IsTemporary
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || serverClosedConn(err)
}

// serverClosedConn reports net/http's error for a connection the server
// closed before the request went out on it, which it does not export:
// nothing was answered, so another attempt is safe.
func serverClosedConn(err error) bool {
	return strings.Contains(err.Error(), "http: server closed idle connection")
}

var (
	errFirstByte = errors.New("first byte timeout")
	errIdle      = errors.New("idle timeout")
)

// once sends one attempt with the first-byte timeout, and wraps its
// body with the idle timeout.
func (t *Transport) once(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithCancelCause(parent)
	to := t.opts.Timeouts
	var firstByte *time.Timer
	if to.FirstByte > 0 {
		firstByte = time.AfterFunc(time.Hour, func() { cancel(errFirstByte) })
		firstByte.Stop()
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { firstByte.Reset(to.FirstByte) },
		})
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if firstByte != nil {
		firstByte.Stop()
	}
	if err == nil && errors.Is(context.Cause(ctx), errFirstByte) {
		resp.Body.Close() // the timer fired as the headers arrived
		resp, err = nil, context.Cause(ctx)
	}
	if err != nil {
		cancel(nil)
		if parent.Err() == nil && errors.Is(context.Cause(ctx), errFirstByte) {
			err = &llm.TimeoutError{Phase: "first byte", Limit: to.FirstByte}
		}
		return nil, err
	}
	resp.Body = &watchedBody{body: resp.Body, ctx: ctx, cancel: cancel, idle: to.Idle}
	if to.Idle > 0 {
		resp.Body.(*watchedBody).timer = time.AfterFunc(time.Hour, func() { cancel(errIdle) })
		resp.Body.(*watchedBody).timer.Stop()
	}
	return resp, nil
}

// watchedBody bounds each read of an answer's body by the idle timeout,
// and ends the attempt's context when closed.
type watchedBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.timer != nil {
		b.timer.Reset(b.idle)
	}
	n, err := b.body.Read(p)
	if b.timer != nil {
		b.timer.Stop()
	}
	if err != nil && err != io.EOF && errors.Is(context.Cause(b.ctx), errIdle) {
		err = &llm.TimeoutError{Phase: "idle", Limit: b.idle}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.body.Close()
	b.cancel(nil)
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
