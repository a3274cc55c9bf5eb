package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetherllm/tether/llm"
)

// callModel makes one model call, streaming it, and retries it when the
// driver's error is retryable (llm.Retryable: rate limiting, overload, a
// broken connection, a server that died) and nothing of the answer has
// arrived yet. An answer that broke off half way is not retried: the
// caller has already been shown its beginning, and a second answer would
// show it twice. The wait between attempts is the server's Retry-After
// when it gave one, else RetryDelay doubled at each attempt.
func (a *Agent) callModel(ctx context.Context, req llm.Request, iteration int) (*llm.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, received, err := a.stream(ctx, req, iteration)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("model call %d: %w", iteration, context.Cause(ctx))
		}
		if !llm.Retryable(err) {
			return nil, fmt.Errorf("model call %d: %w", iteration, err)
		}
		if received > 0 {
			var interrupted *llm.InterruptedError
			if !errors.As(err, &interrupted) {
				err = &llm.InterruptedError{Events: received, Err: err}
			}
			return nil, fmt.Errorf("model call %d: %w", iteration, err)
		}
		if attempt >= a.retryAttempts {
			return nil, fmt.Errorf("model call %d: %d attempts failed: %w", iteration, attempt, err)
		}
		delay := backoff(a.retryDelay, attempt)
		if after, ok := llm.RetryAfter(err); ok {
			delay = after
		}
		a.log.Info("model call failed, retrying", "iteration", iteration, "attempt", attempt, "delay", delay, "err", err)
		a.emit(Event{Kind: EventRetry, Iteration: iteration, Text: err.Error(), Delay: delay})
		if err := a.wait(ctx, delay); err != nil {
			return nil, fmt.Errorf("model call %d: waiting to retry: %w", iteration, err)
		}
	}
}

// stream makes one attempt of a model call, forwarding its text and
// reasoning as they arrive, and returns the final response and how many
// events of the answer arrived before an error.
func (a *Agent) stream(ctx context.Context, req llm.Request, iteration int) (*llm.Response, int, error) {
	received := 0
	for ev, err := range a.driver.Stream(ctx, req) {
		if err != nil {
			return nil, received, err
		}
		switch ev.Kind {
		case llm.EventTextDelta:
			a.emit(Event{Kind: EventTextDelta, Iteration: iteration, Text: ev.Text})
		case llm.EventReasoningDelta:
			a.emit(Event{Kind: EventReasoningDelta, Iteration: iteration, Text: ev.Text})
		case llm.EventDone:
			if ev.Response == nil {
				return nil, received, &llm.ProtocolError{Reason: "the stream's done event has no response"}
			}
			return ev.Response, received, nil
		}
		received++
	}
	return nil, received, &llm.ProtocolError{Reason: "the stream ended without a done event"}
}

// maxBackoff bounds the doubling delay, so that many attempts do not
// wait for hours. A server's Retry-After is not bounded: it knows best,
// and the caller's context can still end the wait.
const maxBackoff = time.Minute

// backoff is the wait after the attempt-th failure: base, doubled at each
// attempt, at most maxBackoff.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
