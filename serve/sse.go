package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// sseWriter writes server-sent events: "data: JSON" events, ": ping"
// comments, and the closing "data: [DONE]". It flushes after each, and
// remembers the first write error (the client went away).
type sseWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	last time.Time
	err  error
}

// startSSE sends the headers of an event stream.
func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	s.flush()
	return s
}

func (s *sseWriter) data(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw(append(append([]byte("data: "), b...), '\n', '\n'))
}

func (s *sseWriter) ping() error { return s.raw([]byte(": ping\n\n")) }

func (s *sseWriter) done() error { return s.raw([]byte("data: [DONE]\n\n")) }

func (s *sseWriter) raw(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return err
	}
	s.flush()
	return s.err
}

func (s *sseWriter) flush() {
	s.last = time.Now()
	if err := s.rc.Flush(); err != nil && s.err == nil {
		s.err = err
	}
}

// item is one element of a relayed sequence.
type item[T any] struct {
	v   T
	err error
}

// relay runs seq on its own goroutine and hands its elements over a
// channel, so that a stream's writer can wait for them and for its ping
// timer at once. The channel closes when seq ends or ctx does; wait
// returns once the goroutine has finished, so that the generation has
// let go of its slot.
func relay[T any](ctx context.Context, seq iter.Seq2[T, error]) (items <-chan item[T], wait func()) {
	ch := make(chan item[T])
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(ch)
		defer func() {
			// A panic here is on no handler's goroutine: turn it into the
			// stream's error rather than let it end the process.
			if p := recover(); p != nil {
				var zero T
				select {
				case ch <- item[T]{zero, fmt.Errorf("internal error: %v", p)}:
				case <-ctx.Done():
				}
			}
		}()
		for v, err := range seq {
			select {
			case ch <- item[T]{v, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch, func() { <-finished }
}

// pinger says when a stream has been silent for a ping interval.
type pinger struct {
	t     *time.Ticker
	every time.Duration
}

func newPinger(every time.Duration) *pinger {
	return &pinger{t: time.NewTicker(every / 2), every: every}
}

func (p *pinger) due(s *sseWriter) bool { return time.Since(s.last) >= p.every }

func (p *pinger) stop() { p.t.Stop() }

// pump relays seq to handle, which writes each element, until handle
// says the answer is complete (pump returns nil) or seq fails (pump
// returns its error, or ctx's cause if ctx ended first). While nothing
// comes for a ping interval it sends ": ping"; once a write fails (the
// client went away) it cancels ctx, so that the generation stops at once.
func pump[T any](ctx context.Context, cancel context.CancelFunc, sse *sseWriter, every time.Duration, seq iter.Seq2[T, error], handle func(T) bool) error {
	items, wait := relay(ctx, seq)
	defer wait()
	defer cancel()
	p := newPinger(every)
	defer p.stop()
	for {
		select {
		case it, ok := <-items:
			switch {
			case !ok:
				if err := context.Cause(ctx); err != nil {
					return err
				}
				return errors.New("the generation ended without an answer")
			case it.err != nil:
				return it.err
			case handle(it.v):
				return nil
			}
		case <-p.t.C:
			if p.due(sse) {
				sse.ping()
			}
		}
		if sse.err != nil {
			cancel()
		}
	}
}
