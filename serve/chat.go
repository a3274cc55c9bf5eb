package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"iter"
	"net/http"
	"slices"
	"time"

	"github.com/tetherllm/tether/driver/embedded"
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
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// One turn per choice; the engine evaluates their shared prompt once.
	streams := make([]iter.Seq2[llm.Event, error], req.choices())
	turns := make([]*embedded.Turn, len(streams))
	call.Seed = req.choiceSeed(0)
	first, err := m.drv.Prepare(call)
	if err != nil {
		return errorFor(err)
	}
	w.(*statusWriter).promptTokens = first.PromptTokens()
	for i := range streams {
		turns[i] = first
		if i > 0 {
			turns[i] = first.Choice(req.choiceSeed(i))
		}
		streams[i] = turns[i].Stream(ctx)
	}
	a := &chatAnswer{generationLog: generationLog{s: s, sw: w.(*statusWriter), start: start, turns: turns}, id: newID("chatcmpl-"), created: start.Unix(), usage: req.includeUsage(),
		oneCall: req.ParallelToolCalls != nil && !*req.ParallelToolCalls, choices: len(streams), logprobs: call.Logprobs}
	events := mergeChoices(cancel, streams)
	if req.Stream {
		return a.stream(ctx, cancel, events)
	}
	return a.complete(ctx, events)
}

// chatAnswer writes one chat completion.
type chatAnswer struct {
	generationLog
	id      string
	created int64
	usage   bool
	// oneCall keeps only the model's first tool call
	// (parallel_tool_calls: false), as llama-server does.
	oneCall bool
	// choices is n; logprobs says whether the answer carries them.
	choices  int
	logprobs bool
}

// finished records a generation's end; it returns the error to answer
// with, or nil.
func (a *chatAnswer) finished(ctx context.Context, resp *llm.Response, err error) *apiError {
	switch cancelled, err := a.ended(ctx, resp, err); {
	case cancelled:
		return errorFor(context.Canceled)
	case err != nil:
		return errorFor(err)
	}
	return nil
}

// total is the answer's usage over its choices: the prompt once, as the
// choice that read it evaluated it for all, and every choice's generated
// tokens, over the time the slowest took.
func total(resps []*llm.Response) *llm.Response {
	sum := *resps[0]
	for _, r := range resps[1:] {
		sum.Usage.OutputTokens += r.Usage.OutputTokens
		t, s := r.Timings, &sum.Timings
		s.GeneratedTokens += t.GeneratedTokens
		s.GenerationMS = max(s.GenerationMS, t.GenerationMS)
		if t.PromptTokens > s.PromptTokens {
			s.PromptTokens, s.PromptMS = t.PromptTokens, t.PromptMS
		}
	}
	return &sum
}

func (a *chatAnswer) complete(ctx context.Context, events iter.Seq2[choiceItem[llm.Event], error]) *apiError {
	resps := make([]*llm.Response, a.choices)
	var err error
	for ev, e := range events {
		if e != nil {
			err = e
			break
		}
		a.sawOutput()
		if ev.v.Kind == llm.EventDone {
			resps[ev.index] = ev.v.Response
		}
	}
	if err == nil && slices.Contains(resps, nil) {
		err = errors.New("the generation ended without an answer")
	}
	var sum *llm.Response
	if err == nil {
		sum = total(resps)
	}
	if e := a.finished(ctx, sum, err); e != nil {
		return e
	}
	out := oaiwire.ChatCompletion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Usage: oaiwire.UsageOf(sum), Timings: oaiwire.TimingsOf(sum),
	}
	for i, resp := range resps {
		if a.oneCall {
			oaiwire.OneCallOnly(resp)
		}
		choice := oaiwire.Choice{Index: i, Message: oaiwire.MessageOf(resp), FinishReason: ptr(oaiwire.FinishReason(resp.StopReason))}
		if a.logprobs {
			choice.Logprobs = oaiwire.LogprobsOf(resp.Logprobs)
		}
		out.Choices = append(out.Choices, choice)
	}
	writeJSON(a.sw, http.StatusOK, out)
	return nil
}

func (a *chatAnswer) chunk(index int, delta *oaiwire.Delta, finish *string) oaiwire.ChatCompletion {
	return oaiwire.ChatCompletion{
		ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []oaiwire.Choice{{Index: index, Delta: delta, FinishReason: finish}},
	}
}

// stream writes the answer as server-sent events: a first chunk per
// choice with the role, then content, reasoning_content and tool_calls
// deltas, a last chunk per choice with finish_reason and timings, the
// usage chunk if asked for, and [DONE]. Each chunk carries the
// log-probabilities of the tokens its choice generated since its
// previous chunk, when they were asked for. While nothing comes (the
// request waits for a slot or its prompt is being read), ": ping"
// comments keep the connection alive.
func (a *chatAnswer) stream(ctx context.Context, cancel context.CancelFunc, events iter.Seq2[choiceItem[llm.Event], error]) *apiError {
	sse := startSSE(a.sw)
	deltas := make([]oaiwire.Deltas, a.choices)
	pending := make([][]llm.TokenLogprob, a.choices)
	resps := make([]*llm.Response, a.choices)
	done := 0
	send := func(i int, delta *oaiwire.Delta, finish *string) oaiwire.ChatCompletion {
		c := a.chunk(i, delta, finish)
		if len(pending[i]) > 0 {
			c.Choices[0].Logprobs = oaiwire.LogprobsOf(pending[i])
			pending[i] = pending[i][:0]
		}
		return c
	}
	for i := range deltas {
		deltas[i].OneCall = a.oneCall
		sse.data(a.chunk(i, deltas[i].First(), nil))
	}
	var failed *apiError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, events, func(it choiceItem[llm.Event]) bool {
		a.sawOutput()
		i, ev := it.index, it.v
		if d, ok := deltas[i].Of(ev); ok {
			sse.data(send(i, d, nil))
		}
		switch ev.Kind {
		case llm.EventLogprobs:
			pending[i] = append(pending[i], ev.Logprobs...)
		case llm.EventDone:
			resps[i] = ev.Response
			last := send(i, &oaiwire.Delta{}, ptr(oaiwire.FinishReason(ev.Response.StopReason)))
			last.Timings = oaiwire.TimingsOf(ev.Response)
			sse.data(last)
			if done++; done < a.choices {
				return false
			}
			sum := total(resps)
			if failed = a.finished(ctx, sum, nil); failed != nil {
				return true
			}
			if a.usage {
				u := a.chunk(0, nil, nil)
				u.Choices, u.Usage = []oaiwire.Choice{}, oaiwire.UsageOf(sum)
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
