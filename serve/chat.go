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
		Index        int      `json:"index"`
		Message      *chatOut `json:"message,omitempty"`
		Delta        *chatOut `json:"delta,omitempty"`
		Logprobs     any      `json:"logprobs"`
		FinishReason *string  `json:"finish_reason"`
	}
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
	case llm.StopMaxTokens, llm.StopContextWindow:
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
	if e := decodeBody(r, s.cfg.MaxBodyBytes, &req); e != nil {
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
	for i := range streams {
		call.Seed = req.choiceSeed(i)
		turn, err := m.drv.Prepare(call)
		if err != nil {
			return errorFor(err)
		}
		streams[i] = turn.Stream(ctx)
		w.(*statusWriter).promptTokens = turn.PromptTokens()
	}
	a := &chatAnswer{s: s, sw: w.(*statusWriter), start: start, id: newID("chatcmpl-"), created: start.Unix(), usage: req.includeUsage(),
		choices: len(streams), logprobs: call.Logprobs}
	events := mergeChoices(cancel, streams)
	if req.Stream {
		return a.stream(ctx, cancel, events)
	}
	return a.complete(ctx, events)
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
	// choices is n; logprobs says whether the answer carries them.
	choices  int
	logprobs bool
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
	out := chatCompletion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Usage: usageOf(sum), Timings: timingsOf(sum),
	}
	for i, resp := range resps {
		msg := &chatOut{Role: "assistant", ReasoningContent: resp.Reasoning}
		if resp.Text != "" || len(resp.ToolCalls) == 0 {
			msg.Content = ptr(resp.Text)
		}
		for _, c := range resp.ToolCalls {
			var tc toolCallOut
			tc.ID, tc.Type = c.ID, "function"
			tc.Function.Name, tc.Function.Arguments = c.Name, string(c.Input)
			msg.ToolCalls = append(msg.ToolCalls, tc)
		}
		choice := chatChoice{Index: i, Message: msg, FinishReason: ptr(finishReason(resp.StopReason))}
		if a.logprobs {
			choice.Logprobs = chatLogprobsOf(resp.Logprobs)
		}
		out.Choices = append(out.Choices, choice)
	}
	writeJSON(a.sw, http.StatusOK, out)
	return nil
}

func (a *chatAnswer) chunk(index int, delta chatOut, finish *string) chatCompletion {
	return chatCompletion{
		ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []chatChoice{{Index: index, Delta: &delta, FinishReason: finish}},
	}
}

// chatStream is the state of a streamed answer's choices.
type chatStream struct {
	calls []int // tool calls so far, per choice
	// pending holds, per choice, the log-probabilities of tokens whose
	// text has not been sent: they go out with the choice's next chunk.
	pending [][]llm.TokenLogprob
	resps   []*llm.Response
	done    int
}

// stream writes the answer as server-sent events: a first chunk per
// choice with the role, then content, reasoning_content and tool_calls
// deltas, a last chunk per choice with finish_reason and timings, the
// usage chunk if asked for, and [DONE]. While nothing comes (the request
// waits for a slot or its prompt is being read), ": ping" comments keep
// the connection alive.
func (a *chatAnswer) stream(ctx context.Context, cancel context.CancelFunc, events iter.Seq2[choiceItem[llm.Event], error]) *apiError {
	sse := startSSE(a.sw)
	st := &chatStream{calls: make([]int, a.choices), pending: make([][]llm.TokenLogprob, a.choices), resps: make([]*llm.Response, a.choices)}
	for i := range a.choices {
		sse.data(a.chunk(i, chatOut{Role: "assistant", Content: ptr("")}, nil))
	}
	send := func(i int, delta chatOut, finish *string) chatCompletion {
		c := a.chunk(i, delta, finish)
		if len(st.pending[i]) > 0 {
			c.Choices[0].Logprobs = chatLogprobsOf(st.pending[i])
			st.pending[i] = st.pending[i][:0]
		}
		return c
	}
	var failed *apiError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, events, func(it choiceItem[llm.Event]) bool {
		a.sawOutput()
		i, ev := it.index, it.v
		switch ev.Kind {
		case llm.EventLogprobs:
			st.pending[i] = append(st.pending[i], ev.Logprobs...)
		case llm.EventTextDelta:
			sse.data(send(i, chatOut{Content: ptr(ev.Text)}, nil))
		case llm.EventReasoningDelta:
			sse.data(send(i, chatOut{ReasoningContent: ev.Text}, nil))
		case llm.EventToolCallStart:
			var tc toolCallOut
			tc.Index, tc.ID, tc.Type = ptr(st.calls[i]), ev.ToolCall.ID, "function"
			tc.Function.Name = ev.ToolCall.Name
			sse.data(send(i, chatOut{ToolCalls: []toolCallOut{tc}}, nil))
		case llm.EventToolCallEnd:
			var tc toolCallOut
			tc.Index = ptr(st.calls[i])
			tc.Function.Arguments = string(ev.ToolCall.Input)
			sse.data(send(i, chatOut{ToolCalls: []toolCallOut{tc}}, nil))
			st.calls[i]++
		case llm.EventDone:
			resp := ev.Response
			st.resps[i] = resp
			last := send(i, chatOut{}, ptr(finishReason(resp.StopReason)))
			last.Timings = timingsOf(resp)
			sse.data(last)
			if st.done++; st.done < a.choices {
				return false
			}
			sum := total(st.resps)
			if failed = a.finished(ctx, sum, nil); failed != nil {
				return true
			}
			if a.usage {
				u := a.chunk(0, chatOut{}, nil)
				u.Choices, u.Usage = []chatChoice{}, usageOf(sum)
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
