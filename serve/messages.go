package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
)

// messagesRoutes are the Messages API's endpoints. They are routed as
// public and early so that the server's shared checks, which answer in
// OpenAI's shape, let them through; messagesGate applies the same rules
// and answers in Anthropic's.
func messagesRoutes() map[string]route {
	return map[string]route{
		"/v1/messages":              {method: http.MethodPost, public: true, early: true, anthropic: true, handler: (*Server).messages},
		"/v1/messages/count_tokens": {method: http.MethodPost, public: true, early: true, anthropic: true, handler: (*Server).countTokens},
	}
}

// messagesGate checks the API key and that the model is loaded.
func (s *Server) messagesGate(r *http.Request, m *loadedModel) *msgError {
	switch {
	case !s.authorized(r):
		return msgUnauthorized
	case m == nil:
		if err := s.loadErr.Load(); err != nil {
			return &msgError{status: http.StatusInternalServerError, typ: anthropic.ErrAPI, message: "the model failed to load: " + (*err).Error()}
		}
		return msgLoading
	}
	return nil
}

// messagesModel answers 404 for a model the server does not serve under
// --strict-model, as chat completions do; otherwise any name means the
// server's model.
func (s *Server) messagesModel(name string) *msgError {
	if name == "" || !s.cfg.StrictModel || s.names[name] {
		return nil
	}
	return &msgError{status: http.StatusNotFound, typ: anthropic.ErrNotFound, message: "model: " + name + " is not served here (this server serves " + s.id + ")"}
}

// answered writes e unless it is a cancellation, which has no answer; the
// result is what the route handler returns to ServeHTTP.
func answered(w http.ResponseWriter, e *msgError) *apiError {
	if e == nil {
		return nil
	}
	if e.status == 499 {
		return &apiError{Status: 499, Type: e.typ, Message: e.message}
	}
	writeMsgError(w, e)
	return nil
}

// messagesCallOf reads a Messages API request, after the gate (key,
// loaded model), as the driver's call; countOnly reads only the fields
// that shape the prompt, for count_tokens.
func (s *Server) messagesCallOf(r *http.Request, m *loadedModel, countOnly bool) (req *anthropic.Request, call embedded.Call, single bool, e *msgError) {
	if e = s.messagesGate(r, m); e != nil {
		return
	}
	if req, e = readMessagesRequest(r, s.cfg.MaxBodyBytes); e != nil {
		return
	}
	if e = s.messagesModel(req.Model); e != nil {
		return
	}
	call, single, e = messagesCall(req, countOnly)
	return
}

// countTokens answers POST /v1/messages/count_tokens: the prompt's length
// in tokens, rendered as /v1/messages would render it. A prompt longer
// than the context is counted too.
func (s *Server) countTokens(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	_, call, _, e := s.messagesCallOf(r, m, true)
	if e != nil {
		return answered(w, e)
	}
	// A prompt past the context window is counted all the same, up to a
	// bound that keeps the count's memory in check; past it the answer is
	// the bound's count, a lower bound.
	n, _, err := m.drv.CountTokens(call, countTokensLimit(m.eng.Info().ContextLength))
	if err != nil {
		return answered(w, msgErrorFor(err))
	}
	w.(*statusWriter).promptTokens = n
	writeMsgJSON(w, http.StatusOK, anthropic.TokenCount{InputTokens: n})
	return nil
}

// countTokensLimit is how far count_tokens counts: well past the context
// window (clients ask how far over they are), but bounded, 4 MiB of ids
// at most beyond a window that large.
func countTokensLimit(contextLength int) int { return max(16*contextLength, 1<<20) }

// messages answers POST /v1/messages on the pipeline of chat
// completions: the request becomes an embedded.Call, the driver renders
// and runs it, and anthropic.Encoder turns its events into the answer.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	start := time.Now()
	req, call, single, e := s.messagesCallOf(r, m, false)
	if e != nil {
		return answered(w, e)
	}
	if !s.admit.acquire() {
		return answered(w, msgOverloaded)
	}
	defer s.admit.release()
	turn, err := m.drv.Prepare(call)
	if err != nil {
		return answered(w, msgErrorFor(err))
	}
	sw := w.(*statusWriter)
	sw.promptTokens = turn.PromptTokens()
	a := &messagesAnswer{generationLog: generationLog{s: s, sw: sw, start: start}, single: single,
		enc: anthropic.NewEncoder(newMessageID(), s.id, turn.PromptTokens(), req.StopSequences)}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	a.turns = []*embedded.Turn{turn}
	events := a.filter(turn.Stream(ctx))
	if req.Stream {
		return a.stream(ctx, cancel, events)
	}
	return answered(w, a.complete(ctx, events))
}

// newMessageID is a message id in Anthropic's form.
func newMessageID() string {
	var b [12]byte
	rand.Read(b[:])
	return "msg_" + hex.EncodeToString(b[:])
}

// toolUseID writes a driver's call id ("call_…", unique for the server's
// lifetime) in Anthropic's form, "toolu_…". Ids that come back in a
// conversation are used as they are.
func toolUseID(id string) string {
	if strings.HasPrefix(id, "toolu_") {
		return id
	}
	return "toolu_" + strings.TrimPrefix(id, "call_")
}

// messagesAnswer writes one answer of /v1/messages.
type messagesAnswer struct {
	generationLog
	enc    *anthropic.Encoder
	single bool // disable_parallel_tool_use: one call at most
}

// filter gives calls Anthropic's ids and, for disable_parallel_tool_use,
// drops the calls after the first.
func (a *messagesAnswer) filter(events iter.Seq2[llm.Event, error]) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		ended := 0
		for ev, err := range events {
			if err != nil {
				yield(ev, err)
				return
			}
			switch ev.Kind {
			case llm.EventToolCallStart, llm.EventToolCallEnd:
				if a.single && ended > 0 {
					continue
				}
				if ev.Kind == llm.EventToolCallEnd {
					ended++
				}
				c := *ev.ToolCall
				c.ID = toolUseID(c.ID)
				ev.ToolCall = &c
			case llm.EventDone:
				resp := *ev.Response
				calls := resp.ToolCalls
				if a.single && len(calls) > 1 {
					calls = calls[:1]
				}
				resp.ToolCalls = make([]llm.ToolCall, len(calls))
				for i, c := range calls {
					c.ID = toolUseID(c.ID)
					resp.ToolCalls[i] = c
				}
				ev.Response = &resp
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// finished records a generation's end; it returns the error to answer
// with, or nil.
func (a *messagesAnswer) finished(ctx context.Context, resp *llm.Response, err error) *msgError {
	switch cancelled, err := a.ended(ctx, resp, err); {
	case cancelled:
		return msgCancelled
	case err != nil:
		return msgErrorFor(err)
	}
	return nil
}

func (a *messagesAnswer) complete(ctx context.Context, events iter.Seq2[llm.Event, error]) *msgError {
	var resp *llm.Response
	var err error
	for ev, e := range events {
		if e != nil {
			err = e
			break
		}
		a.sawOutput()
		a.enc.Add(ev)
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
	writeMsgJSON(a.sw, http.StatusOK, a.enc.Response())
	return nil
}

// event writes one named event of the stream.
func event(sse *sseWriter, ev anthropic.StreamEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return sse.raw([]byte("event: " + ev.Type + "\ndata: " + string(b) + "\n\n"))
}

// stream writes the answer as Anthropic's server-sent events:
// message_start, a ping, each block's content_block_start, deltas and
// content_block_stop, message_delta with the stop reason and usage, and
// message_stop. While nothing comes (the request waits for a slot or its
// prompt is being read), ": ping" comments keep the connection alive. A
// failure after the start is an error event.
func (a *messagesAnswer) stream(ctx context.Context, cancel context.CancelFunc, events iter.Seq2[llm.Event, error]) *apiError {
	sse := startSSE(a.sw)
	event(sse, a.enc.Start())
	event(sse, anthropic.StreamEvent{Type: anthropic.EventPing})
	var failed *msgError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, events, func(ev llm.Event) bool {
		a.sawOutput()
		if ev.Kind == llm.EventDone {
			if failed = a.finished(ctx, ev.Response, nil); failed != nil {
				return true
			}
		}
		for _, se := range a.enc.Add(ev) {
			event(sse, se)
		}
		return ev.Kind == llm.EventDone
	})
	if err != nil {
		failed = a.finished(ctx, nil, err)
	}
	if failed == nil {
		return nil
	}
	switch {
	case failed.status != 499:
		event(sse, anthropic.StreamEvent{Type: anthropic.EventError, Error: &anthropic.ErrorObject{Type: failed.typ, Message: failed.message}})
	case a.s.closing.Load():
		event(sse, anthropic.StreamEvent{Type: anthropic.EventError, Error: &anthropic.ErrorObject{Type: msgShuttingDown.typ, Message: msgShuttingDown.message}})
	}
	// Reported in the stream; ServeHTTP only logs and counts it.
	return &apiError{Status: failed.status, Type: failed.typ, Message: failed.message}
}
