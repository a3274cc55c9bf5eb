package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// signalHarness drives watchSignals with a fake signal channel, a fake
// clock and a recorded exit.
type signalHarness struct {
	sigs     chan os.Signal
	ctx      context.Context
	out      bytes.Buffer
	deadline *shutdownDeadline
	asked    chan time.Duration // what watchSignals waits for
	fire     chan time.Time
	exits    chan int
	done     chan struct{}
	requests *requestInterrupter
}

func startWatch(t *testing.T, deadline time.Duration) *signalHarness {
	t.Helper()
	h := &signalHarness{
		sigs:     make(chan os.Signal, 2),
		deadline: newShutdownDeadline(),
		asked:    make(chan time.Duration, 1),
		fire:     make(chan time.Time),
		exits:    make(chan int, 1),
		done:     make(chan struct{}),
		requests: &requestInterrupter{},
	}
	h.deadline.set(deadline)
	ctx, cancel := context.WithCancelCause(context.Background())
	h.ctx = ctx
	after := func(d time.Duration) <-chan time.Time { h.asked <- d; return h.fire }
	go func() {
		defer close(h.done)
		watchSignals(h.sigs, cancel, &h.out, h.deadline, h.requests, after, func(code int) { h.exits <- code })
	}()
	return h
}

func TestFirstSignalCancelsWithItsName(t *testing.T) {
	h := startWatch(t, time.Minute)
	h.sigs <- syscall.SIGTERM
	<-h.ctx.Done()
	err := interrupted(h.ctx)
	if !errors.Is(err, context.Canceled) || exitCode(err) != ExitInterrupted {
		t.Fatalf("%v: exit code %d, want %d", err, exitCode(err), ExitInterrupted)
	}
	if msg := err.Error(); !strings.Contains(msg, "interrupted") || !strings.Contains(msg, "SIGTERM") || strings.Contains(msg, "context canceled") {
		t.Fatalf("message %q", msg)
	}
	if d := <-h.asked; d != time.Minute {
		t.Fatalf("force deadline %v, want the command's 1m", d)
	}
	close(h.sigs) // the command finished in time
	<-h.done
	select {
	case code := <-h.exits:
		t.Fatalf("exited with %d after a clean stop", code)
	default:
	}
}

func TestSecondSignalForcesExit(t *testing.T) {
	h := startWatch(t, time.Minute)
	h.sigs <- syscall.SIGTERM
	<-h.asked
	h.sigs <- syscall.SIGINT
	if code := <-h.exits; code != ExitInterrupted {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(h.out.String(), "again: exiting now") {
		t.Fatalf("said %q", h.out.String())
	}
}

func TestStopDeadlineForcesExit(t *testing.T) {
	h := startWatch(t, 3*time.Second)
	h.sigs <- syscall.SIGINT
	<-h.asked
	h.fire <- time.Time{}
	if code := <-h.exits; code != ExitInterrupted {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(h.out.String(), "still stopping") {
		t.Fatalf("said %q", h.out.String())
	}
}

// SIGINT during an interactive command's request ends that request only;
// at its prompt, SIGINT ends the command. SIGTERM always does.
func TestSIGINTAbandonsTheRunningRequest(t *testing.T) {
	h := startWatch(t, time.Minute)
	req, end := h.requests.begin(h.ctx)
	h.sigs <- syscall.SIGINT
	<-req.Done()
	if !errors.Is(context.Cause(req), errRequestInterrupted) || h.ctx.Err() != nil {
		t.Fatalf("request: %v; command: %v", context.Cause(req), h.ctx.Err())
	}
	end()
	h.sigs <- syscall.SIGINT // at the prompt
	<-h.ctx.Done()
	<-h.asked
	close(h.sigs)
	<-h.done

	h = startWatch(t, time.Minute)
	req, end = h.requests.begin(h.ctx)
	defer end()
	h.sigs <- syscall.SIGTERM
	<-h.ctx.Done()
	if !errors.Is(context.Cause(req), errInterrupted{syscall.SIGTERM}) {
		t.Fatalf("SIGTERM: request ended by %v, want the command's end", context.Cause(req))
	}
	<-h.asked
	close(h.sigs)
	<-h.done
}

// A command run in process whose context ends says it was interrupted,
// never "context canceled".
func TestInterruptedRunSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errs := tether(t, ctx, "run", "--model", tinyModel(t), "--backend", "llama-server", "hi")
	if code != ExitInterrupted || !strings.Contains(errs, "tether: interrupted") || strings.Contains(errs, "context canceled") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
