package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"iter"
	"net/http"
	"time"

	"github.com/tetherllm/tether/llm"
)

// The answer's wire shapes: OpenAI's chat completion and chunk, with
// reasoning_content and llama.cpp's timings.
type (
	chatCompletion struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		SystemFingerprint string       `json:"system_fingerprint"`
		Choices           []chatChoice `json:"choices"`
		Usage             *usage       `json:"usage,omitempty"`
		Timings           *timings     `json:"timings,omitempty"`
	}
	chatChoice struct {
		Index        int         `json:"index"`
		Message      *messageOut `json:"message,omitempty"`
		Delta        *chatOut    `json:"delta,omitempty"`
		Logprobs     any         `json:"logprobs"`
		FinishReason *string     `json:"finish_reason"`
	}
	// messageOut is a whole answer's message: its content is null,
	// never absent, when the answer is only tool calls, as OpenAI's is.
	messageOut struct {
		Role             string        `json:"role"`
		Content          *string       `json:"content"`
		ReasoningContent string        `json:"reasoning_content,omitempty"`
		ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	}
	// chatOut is a stream's delta: only what the chunk adds.
	chatOut struct {
		Role             string        `json:"role,omitempty"`
		Content          *string       `json:"content,omitempty"`
		ReasoningContent string        `json:"reasoning_content,omitempty"`
		ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	}
	toolCallOut struct {
		Index    *int   `json:"index,omitempty"`
		ID       string `json:"id,omitempty"`
		Type     string `json:"type,omitempty"`
		Function struct {
			Name      string `json:"name,omitempty"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
	// timings is llama.cpp's timings object.
	timings struct {
		CacheN              int     `json:"cache_n"`
		PromptN             int     `json:"prompt_n"`
		PromptMS            float64 `json:"prompt_ms"`
		PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
		PromptPerSecond     float64 `json:"prompt_per_second"`
		PredictedN          int     `json:"predicted_n"`
		PredictedMS         float64 `json:"predicted_ms"`
		PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
		PredictedPerSecond  float64 `json:"predicted_per_second"`
	}
)

func usageOf(r *llm.Response) *usage {
	u := &usage{PromptTokens: r.Usage.InputTokens, CompletionTokens: r.Usage.OutputTokens, TotalTokens: r.Usage.Total()}
	u.PromptTokensDetails.CachedTokens = max(r.Usage.InputTokens-r.Timings.PromptTokens, 0)
	return u
}

func timingsOf(r *llm.Response) *timings {
	t := r.Timings
	out := &timings{
		CacheN:      max(r.Usage.InputTokens-t.PromptTokens, 0),
		PromptN:     t.PromptTokens,
		PromptMS:    t.PromptMS,
		PredictedN:  t.GeneratedTokens,
		PredictedMS: t.GenerationMS,
	}
	if t.PromptTokens > 0 && t.PromptMS > 0 {
		out.PromptPerTokenMS = t.PromptMS / float64(t.PromptTokens)
		out.PromptPerSecond = t.PromptTokensPerSecond()
	}
	if t.GeneratedTokens > 0 && t.GenerationMS > 0 {
		out.PredictedPerTokenMS = t.GenerationMS / float64(t.GeneratedTokens)
		out.PredictedPerSecond = t.GenerationTokensPerSecond()
	}
	return out
}

// finishReason is OpenAI's name for a stop reason.
func finishReason(r llm.StopReason) string {
	switch r {
	case llm.StopToolUse:
		return "tool_calls"
	case llm.StopMaxTokens:
		return "length"
	}
	return "stop"
}

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
	if e := decodeBody(r, s.cfg.MaxBodyBytes, &req, chatFields); e != nil {
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
	calls   int
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
	if a.oneCall && len(resp.ToolCalls) > 1 {
		resp.ToolCalls = resp.ToolCalls[:1]
	}
	msg := &messageOut{Role: "assistant", ReasoningContent: resp.Reasoning}
	if resp.Text != "" || len(resp.ToolCalls) == 0 {
		msg.Content = ptr(resp.Text)
	}
	for _, c := range resp.ToolCalls {
		var tc toolCallOut
		tc.ID, tc.Type = c.ID, "function"
		tc.Function.Name, tc.Function.Arguments = c.Name, string(c.Input)
		msg.ToolCalls = append(msg.ToolCalls, tc)
	}
	out := chatCompletion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []chatChoice{{Index: 0, Message: msg, FinishReason: ptr(finishReason(resp.StopReason))}},
		Usage:   usageOf(resp), Timings: timingsOf(resp),
	}
	writeJSON(a.sw, http.StatusOK, out)
	return nil
}

func (a *chatAnswer) chunk(delta chatOut, finish *string) chatCompletion {
	return chatCompletion{
		ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []chatChoice{{Index: 0, Delta: &delta, FinishReason: finish}},
	}
}

// stream writes the answer as server-sent events: a first chunk with the
// role, then content, reasoning_content and tool_calls deltas, a last
// chunk with finish_reason and timings, the usage chunk if asked for, and
// [DONE]. While nothing comes (the request waits for a slot or its
// prompt is being read), ": ping" comments keep the connection alive.
func (a *chatAnswer) stream(ctx context.Context, cancel context.CancelFunc, events iter.Seq2[llm.Event, error]) *apiError {
	sse := startSSE(a.sw)
	sse.data(a.chunk(chatOut{Role: "assistant", Content: ptr("")}, nil))
	var failed *apiError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, events, func(ev llm.Event) bool {
		a.sawOutput()
		if a.oneCall && a.calls > 0 && (ev.Kind == llm.EventToolCallStart || ev.Kind == llm.EventToolCallEnd) {
			return false // parallel_tool_calls false: the first call only
		}
		switch ev.Kind {
		case llm.EventTextDelta:
			sse.data(a.chunk(chatOut{Content: ptr(ev.Text)}, nil))
		case llm.EventReasoningDelta:
			sse.data(a.chunk(chatOut{ReasoningContent: ev.Text}, nil))
		case llm.EventToolCallStart:
			var tc toolCallOut
			tc.Index, tc.ID, tc.Type = ptr(a.calls), ev.ToolCall.ID, "function"
			tc.Function.Name = ev.ToolCall.Name
			sse.data(a.chunk(chatOut{ToolCalls: []toolCallOut{tc}}, nil))
		case llm.EventToolCallEnd:
			var tc toolCallOut
			tc.Index = ptr(a.calls)
			tc.Function.Arguments = string(ev.ToolCall.Input)
			sse.data(a.chunk(chatOut{ToolCalls: []toolCallOut{tc}}, nil))
			a.calls++
		case llm.EventDone:
			resp := ev.Response
			if failed = a.finished(ctx, resp, nil); failed != nil {
				return true
			}
			last := a.chunk(chatOut{}, ptr(finishReason(resp.StopReason)))
			last.Timings = timingsOf(resp)
			sse.data(last)
			if a.usage {
				u := a.chunk(chatOut{}, nil)
				u.Choices, u.Usage = []chatChoice{}, usageOf(resp)
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
