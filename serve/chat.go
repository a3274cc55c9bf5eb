package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"iter"
	"net/http"
	"time"

	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ptr[T any](v T) *T { return &v }

// checkModel answers 404 for a model the server does not serve under
// Config.StrictModel; otherwise every name means the served model. An
// empty name always means it.
func (s *Server) checkModel(name string) *apiError {
	if name == "" || !s.cfg.StrictModel || s.names[name] {
		return nil
	}
	return unknownModel(name)
}

// retryAfter estimates, in whole seconds, when a refused request may find
// room: one second, as the queue moves continuously.
const retryAfter = 1

// chatCompletions answers POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	start := time.Now()
	var req chatRequest
	if e := decodeFields(r, s.cfg.MaxBodyBytes, &req, chatFields); e != nil {
		return e
	}
	if e := s.checkModel(req.Model); e != nil {
		return e
	}
	call, e := req.call()
	if e != nil {
		return e
	}
	if !s.admit.acquire() {
		return overloaded(retryAfter)
	}
	defer s.admit.release()
	turn, err := m.drv.Prepare(call)
	if err != nil {
		return errorFor(err)
	}
	sw := w.(*statusWriter)
	sw.promptTokens = turn.PromptTokens()
	a := &chatAnswer{s: s, sw: sw, start: start, id: newID("chatcmpl-"), created: start.Unix(), usage: req.includeUsage(),
		oneCall: req.ParallelToolCalls != nil && !*req.ParallelToolCalls}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if req.Stream {
		return a.stream(ctx, cancel, turn.Stream(ctx))
	}
	return a.complete(ctx, turn.Stream(ctx))
}

// chatAnswer writes one chat completion.
type chatAnswer struct {
	s       *Server
	sw      *statusWriter
	start   time.Time
	id      string
	created int64
	usage   bool
	first   bool // the first output has been seen
	// oneCall keeps only the model's first tool call
	// (parallel_tool_calls: false), as llama-server does.
	oneCall bool
}

func (a *chatAnswer) sawOutput() {
	if !a.first {
		a.first = true
		a.s.metrics.firstToken(time.Since(a.start))
	}
}

// finished records a generation's end; it returns the error to answer
// with, or nil.
func (a *chatAnswer) finished(ctx context.Context, resp *llm.Response, err error) *apiError {
	if err != nil {
		cancelled := ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		a.s.metrics.generation(a.sw.promptTokens, 0, cancelled)
		if cancelled {
			return errorFor(context.Canceled)
		}
		return errorFor(err)
	}
	a.sw.generatedTokens = resp.Usage.OutputTokens
	a.s.metrics.generation(resp.Usage.InputTokens, resp.Usage.OutputTokens, false)
	return nil
}

func (a *chatAnswer) complete(ctx context.Context, events iter.Seq2[llm.Event, error]) *apiError {
	var resp *llm.Response
	var err error
	for ev, e := range events {
		if e != nil {
			err = e
			break
		}
		a.sawOutput()
		if ev.Kind == llm.EventDone {
			resp = ev.Response
		}
	}
	if err == nil && resp == nil {
		err = errors.New("the generation ended without an answer")
	}
	if e := a.finished(ctx, resp, err); e != nil {
		return e
	}
	if a.oneCall {
		oaiwire.OneCallOnly(resp)
	}
	out := oaiwire.ChatCompletion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []oaiwire.Choice{{Index: 0, Message: oaiwire.MessageOf(resp), FinishReason: ptr(oaiwire.FinishReason(resp.StopReason))}},
		Usage:   oaiwire.UsageOf(resp), Timings: oaiwire.TimingsOf(resp),
	}
	writeJSON(a.sw, http.StatusOK, out)
	return nil
}

func (a *chatAnswer) chunk(delta *oaiwire.Delta, finish *string) oaiwire.ChatCompletion {
	return oaiwire.ChatCompletion{
		ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []oaiwire.Choice{{Index: 0, Delta: delta, FinishReason: finish}},
	}
}

// stream writes the answer as server-sent events: a first chunk with the
// role, then content, reasoning_content and tool_calls deltas, a last
// chunk with finish_reason and timings, the usage chunk if asked for, and
// [DONE]. While nothing comes (the request waits for a slot or its
// prompt is being read), ": ping" comments keep the connection alive.
func (a *chatAnswer) stream(ctx context.Context, cancel context.CancelFunc, events iter.Seq2[llm.Event, error]) *apiError {
	sse := startSSE(a.sw)
	deltas := oaiwire.Deltas{OneCall: a.oneCall}
	sse.data(a.chunk(deltas.First(), nil))
	var failed *apiError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, events, func(ev llm.Event) bool {
		a.sawOutput()
		if d, ok := deltas.Of(ev); ok {
			sse.data(a.chunk(d, nil))
		}
		switch ev.Kind {
		case llm.EventDone:
			resp := ev.Response
			if failed = a.finished(ctx, resp, nil); failed != nil {
				return true
			}
			last := a.chunk(&oaiwire.Delta{}, ptr(oaiwire.FinishReason(resp.StopReason)))
			last.Timings = oaiwire.TimingsOf(resp)
			sse.data(last)
			if a.usage {
				u := a.chunk(nil, nil)
				u.Choices, u.Usage = []oaiwire.Choice{}, oaiwire.UsageOf(resp)
				sse.data(u)
			}
			sse.done()
			return true
		}
		return false
	})
	if err != nil {
		return a.s.streamFailed(sse, a.finished(ctx, nil, err))
	}
	return failed
}

// streamFailed reports a failure inside an event stream: as an error
// event (OpenAI's error object) unless the client has gone away, or as
// "shutting down" when the server cancelled it at the end of its grace
// period.
func (s *Server) streamFailed(sse *sseWriter, e *apiError) *apiError {
	switch {
	case e.Status != 499:
		sse.data(e.body())
	case s.closing.Load():
		sse.data(errShuttingDown.body())
	}
	return e
}

func (s *Server) fingerprint() string { return s.fp }
