package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

// completionRequest is the body of POST /v1/completions: a raw prompt,
// tokenized as llama-server does (BOS where the vocabulary wants it,
// special-token text parsed), with no chat template.
type completionRequest struct {
	samplingFields
	Model  string          `json:"model"`
	Prompt json.RawMessage `json:"prompt"`
	Echo   bool            `json:"echo"`
}

// prompt reads the prompt: a string, or token ids, alone or as the only
// element of an array (one prompt per request).
func (r *completionRequest) prompt(e *engine.Engine) (text string, tokens []int32, _ *apiError) {
	raw := bytes.TrimSpace(r.Prompt)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil, badRequest("prompt", "prompt is required")
	}
	var many []json.RawMessage
	if raw[0] == '[' && json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		first := bytes.TrimSpace(many[0])
		if len(first) > 0 && (first[0] == '"' || first[0] == '[') {
			if len(many) != 1 {
				return "", nil, unsupported("prompt", "more than one prompt per request")
			}
			raw = first
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, e.Encode(s), nil
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) != nil {
		return "", nil, badRequest("prompt", "prompt must be a string or an array of token ids")
	}
	vocab := e.Tokenizer().NumTokens()
	tokens = make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(vocab) {
			return "", nil, badRequest("prompt", "prompt[%d] = %d is not a token id (the vocabulary has %d)", i, id, vocab)
		}
		tokens[i] = int32(id)
	}
	return e.Tokenizer().Decode(tokens), tokens, nil
}

// sampling fills llama.cpp's defaults with the request's settings.
func (f *samplingFields) sampling() (sample.Params, *apiError) {
	var req llm.Request
	if e := f.common(&req); e != nil {
		return sample.Params{}, e
	}
	req.Messages = []llm.Message{llm.UserMessage("")} // Validate checks the sampling values too
	if err := req.Validate(); err != nil {
		return sample.Params{}, errorFor(err)
	}
	p := sample.DefaultParams()
	set := func(dst *float32, v *float64) {
		if v != nil {
			*dst = float32(*v)
		}
	}
	set(&p.Temperature, f.Temperature)
	set(&p.TopP, f.TopP)
	set(&p.MinP, f.MinP)
	set(&p.RepeatPenalty, f.RepeatPenalty)
	set(&p.FrequencyPenalty, f.FrequencyPenalty)
	set(&p.PresencePenalty, f.PresencePenalty)
	if f.TopK != nil {
		p.TopK = *f.TopK
	}
	if f.RepeatLastN != nil {
		p.RepeatLastN = *f.RepeatLastN
	}
	if f.Seed != nil {
		p.Seed = *f.Seed
	}
	var e *apiError
	if p.LogitBias, e = f.logitBias(); e != nil {
		return p, e
	}
	if err := p.Validate(); err != nil {
		return p, badRequest("", "%s", strings.TrimPrefix(err.Error(), "sample: "))
	}
	return p, nil
}

// completions answers POST /v1/completions.
func (s *Server) completions(w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError {
	start := time.Now()
	var req completionRequest
	if e := decodeFields(r, s.cfg.MaxBodyBytes, &req, completionFields); e != nil {
		return e
	}
	if e := s.checkModel(req.Model); e != nil {
		return e
	}
	sampling, e := req.sampling()
	if e != nil {
		return e
	}
	maxTokens, _ := req.maxTokens()
	text, tokens, e := req.prompt(m.eng)
	if e != nil {
		return e
	}
	if len(tokens) == 0 {
		return badRequest("prompt", "the prompt is empty")
	}
	for id := range sampling.LogitBias {
		if int(id) >= m.eng.Tokenizer().NumTokens() {
			return badRequest("logit_bias", "logit_bias names token %d, which is not in the vocabulary", id)
		}
	}
	if n := m.eng.Info().ContextLength; len(tokens) > n {
		return errorFor(&llm.ContextOverflowError{Required: len(tokens), Available: n})
	}
	if !s.admit.acquire() {
		return overloaded(retryAfter)
	}
	defer s.admit.release()
	sw := w.(*statusWriter)
	sw.promptTokens = len(tokens)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	a := &chatAnswer{s: s, sw: sw, start: start, id: newID("cmpl-"), created: start.Unix(), usage: req.includeUsage()}
	gen := m.eng.Generate(ctx, engine.Request{Tokens: tokens, Sampling: sampling, Stop: req.Stop, MaxTokens: maxTokens, IgnoreEOG: req.IgnoreEOS})
	echo := ""
	if req.Echo {
		echo = text
	}
	if req.Stream {
		return a.streamText(ctx, cancel, gen, echo)
	}
	return a.completeText(ctx, gen, echo)
}

// responseOf is a finished raw generation as a driver response, for the
// shared usage and timings.
func responseOf(sum engine.Summary) *llm.Response {
	return &llm.Response{
		Usage:   llm.Usage{InputTokens: sum.PromptTokens, OutputTokens: sum.Timings.GeneratedTokens},
		Timings: sum.Timings,
	}
}

func textFinish(r engine.StopReason) string {
	if r == engine.StopMaxTokens {
		return "length"
	}
	return "stop"
}

func (a *chatAnswer) textCompletion(text string, finish *string) oaiwire.TextCompletion {
	return oaiwire.TextCompletion{
		ID: a.id, Object: "text_completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []oaiwire.TextChoice{{Text: text, Index: 0, FinishReason: finish}},
	}
}

func (a *chatAnswer) completeText(ctx context.Context, gen func(func(engine.Token, error) bool), echo string) *apiError {
	var b strings.Builder
	b.WriteString(echo)
	var sum *engine.Summary
	var err error
	for tok, e := range gen {
		if e != nil {
			err = e
			break
		}
		a.sawOutput()
		b.WriteString(tok.Text)
		if tok.Done {
			sum = &tok.Summary
		}
	}
	if err == nil && sum == nil {
		err = errors.New("the generation ended without an answer")
	}
	var resp *llm.Response
	if err == nil {
		resp = responseOf(*sum)
	}
	if e := a.finished(ctx, resp, err); e != nil {
		return e
	}
	out := a.textCompletion(b.String(), ptr(textFinish(sum.Reason)))
	out.Usage, out.Timings = oaiwire.UsageOf(resp), oaiwire.TimingsOf(resp)
	writeJSON(a.sw, http.StatusOK, out)
	return nil
}

func (a *chatAnswer) streamText(ctx context.Context, cancel context.CancelFunc, gen func(func(engine.Token, error) bool), echo string) *apiError {
	sse := startSSE(a.sw)
	if echo != "" {
		sse.data(a.textCompletion(echo, nil))
	}
	var failed *apiError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, gen, func(tok engine.Token) bool {
		a.sawOutput()
		if !tok.Done {
			if tok.Text != "" {
				sse.data(a.textCompletion(tok.Text, nil))
			}
			return false
		}
		resp := responseOf(tok.Summary)
		if failed = a.finished(ctx, resp, nil); failed != nil {
			return true
		}
		last := a.textCompletion(tok.Text, ptr(textFinish(tok.Summary.Reason)))
		last.Timings = oaiwire.TimingsOf(resp)
		sse.data(last)
		if a.usage {
			u := a.textCompletion("", nil)
			u.Choices, u.Usage = []oaiwire.TextChoice{}, oaiwire.UsageOf(resp)
			sse.data(u)
		}
		sse.done()
		return true
	})
	if err != nil {
		return a.s.streamFailed(sse, a.finished(ctx, nil, err))
	}
	return failed
}
