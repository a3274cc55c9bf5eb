package agent

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// TestRetryHonoursRetryAfter: a retryable failure is retried after the
// server's Retry-After when it gave one, else after the doubling delay,
// and each retry is announced.
func TestRetryHonoursRetryAfter(t *testing.T) {
	d := newFakeDriver(
		step{err: &llm.RateLimitedError{StatusCode: 429, RetryAfter: 7 * time.Second}},
		step{err: &llm.TransportError{Op: "connect", Err: errors.New("connection refused")}},
		answerStep(llm.Usage{}, "ok"),
	)
	rec := &recorder{}
	a, w := newAgent(t, Config{Driver: d, OnEvent: rec.on})
	res, err := a.Turn(context.Background(), nil, "q")
	if err != nil || res.Text != "ok" {
		t.Fatalf("text %q, error %v", res.Text, err)
	}
	if want := []time.Duration{7 * time.Second, 2 * time.Second}; !slices.Equal(w.ds, want) {
		t.Errorf("waits %v, want %v", w.ds, want)
	}
	retries := rec.of(EventRetry)
	if len(retries) != 2 || retries[0].Delay != 7*time.Second || retries[1].Text != "connect: connection refused" {
		t.Errorf("retry events %+v", retries)
	}
	if len(d.requests()) != 3 || res.Iterations != 1 || len(rec.of(EventModelCall)) != 1 {
		t.Errorf("%d requests, %d iterations", len(d.requests()), res.Iterations)
	}
}

// TestRetryGivesUp: after RetryAttempts attempts the last error is
// returned, with the doubling waits between them.
func TestRetryGivesUp(t *testing.T) {
	overloaded := step{err: &llm.RateLimitedError{StatusCode: 503, Overloaded: true}}
	d := newFakeDriver(overloaded, overloaded, overloaded, overloaded, answerStep(llm.Usage{}, "never"))
	a, w := newAgent(t, Config{Driver: d})
	_, err := a.Turn(context.Background(), nil, "q")
	var rl *llm.RateLimitedError
	if !errors.As(err, &rl) || len(d.requests()) != DefaultRetryAttempts {
		t.Errorf("error %v after %d requests", err, len(d.requests()))
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !slices.Equal(w.ds, want) {
		t.Errorf("waits %v, want %v", w.ds, want)
	}
}

// TestNoRetryForPermanentErrors: an error no retry can fix returns at
// once.
func TestNoRetryForPermanentErrors(t *testing.T) {
	d := newFakeDriver(step{err: &llm.RequestError{Reason: "bad tool schema"}}, answerStep(llm.Usage{}, "never"))
	a, w := newAgent(t, Config{Driver: d})
	_, err := a.Turn(context.Background(), nil, "q")
	var re *llm.RequestError
	if !errors.As(err, &re) || len(d.requests()) != 1 || len(w.ds) != 0 {
		t.Errorf("error %v after %d requests, waits %v", err, len(d.requests()), w.ds)
	}
}

// TestNoRetryAfterPartialOutput: a stream that breaks after text reached
// the caller is not retried, which would show the text twice; the error
// says it was interrupted.
func TestNoRetryAfterPartialOutput(t *testing.T) {
	broken := step{events: []llm.Event{{Kind: llm.EventTextDelta, Text: "The answer"}},
		err: &llm.TransportError{Op: "read", Err: errors.New("connection reset")}}
	d := newFakeDriver(broken, answerStep(llm.Usage{}, "never"))
	a, w := newAgent(t, Config{Driver: d})
	_, err := a.Turn(context.Background(), nil, "q")
	var ie *llm.InterruptedError
	if !errors.As(err, &ie) || ie.Events != 1 || llm.Retryable(err) {
		t.Errorf("error %v, want an *llm.InterruptedError", err)
	}
	var te *llm.TransportError
	if !errors.As(err, &te) || len(d.requests()) != 1 || len(w.ds) != 0 {
		t.Errorf("error %v after %d requests, waits %v", err, len(d.requests()), w.ds)
	}
}

// TestCancelEndsRetryWait: the wait before a retry ends as soon as the
// context is cancelled, however long it was to be.
func TestCancelEndsRetryWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := newFakeDriver(step{err: &llm.RateLimitedError{StatusCode: 429, RetryAfter: time.Hour}}, answerStep(llm.Usage{}, "never"))
	a, err := New(Config{Driver: d, OnEvent: func(e Event) {
		if e.Kind == EventRetry {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Turn(ctx, nil, "q")
	if !errors.Is(err, context.Canceled) || len(d.requests()) != 1 {
		t.Errorf("error %v after %d requests", err, len(d.requests()))
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: maxBackoff, 200: maxBackoff} {
		if got := backoff(time.Second, attempt); got != want {
			t.Errorf("attempt %d: %s, want %s", attempt, got, want)
		}
	}
}

// TestSleepWaits: sleep returns nil once its timer fires and at once for
// a context already done.
func TestSleepWaits(t *testing.T) {
	if err := sleep(context.Background(), time.Nanosecond); err != nil {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
}
