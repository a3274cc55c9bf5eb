package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

// completionRequest is the body of POST /v1/completions: a raw prompt,
// tokenized as llama-server does (BOS where the vocabulary wants it,
// special-token text parsed), with no chat template.
type completionRequest struct {
	samplingFields
	Model    string          `json:"model"`
	Prompt   json.RawMessage `json:"prompt"`
	Echo     bool            `json:"echo"`
	Logprobs *int            `json:"logprobs"`
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
		// Past the context window the answer is an overflow, so
		// tokenizing stops there (see Engine.EncodeLimit).
		n := e.Info().ContextLength
		ids, complete := e.EncodeLimit(s, n)
		if !complete {
			return "", nil, errorFor(&llm.ContextOverflowError{Required: max(len(ids), n+1), Available: n})
		}
		return s, ids, nil
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
		return p, badRequest("", "%s", err.(*sample.ParamError).Reason)
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
	switch {
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > engine.MaxTopLogprobs):
		return badRequest("logprobs", "logprobs must be from 0 to %d", engine.MaxTopLogprobs)
	case req.Logprobs != nil && req.Echo:
		return unsupported("logprobs", "logprobs with echo (log-probabilities of the prompt)")
	}
	sampling, e := req.sampling()
	if e != nil {
		return e
	}
	format, gbnf, e := req.constraint()
	if e != nil {
		return e
	}
	constrained, err := embedded.Constraint(format, gbnf)
	if err != nil {
		return errorFor(err)
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
	a := &chatAnswer{generationLog: generationLog{s: s, sw: sw, start: start}, id: newID("cmpl-"), created: start.Unix(), usage: req.includeUsage(),
		choices: req.choices(), logprobs: req.Logprobs != nil}
	// One generation per choice; the engine evaluates their shared
	// prompt once.
	gens := make([]iter.Seq2[engine.Token, error], a.choices)
	for i := range gens {
		p := sampling
		if seed := req.choiceSeed(i); seed != nil {
			p.Seed = *seed
		}
		g := engine.Request{Tokens: tokens, Sampling: p, Stop: req.Stop, MaxTokens: maxTokens, IgnoreEOG: req.IgnoreEOS, Grammar: constrained}
		if a.logprobs {
			g.Logprobs, g.TopLogprobs = true, *req.Logprobs
		}
		gens[i] = m.eng.Generate(ctx, g)
	}
	echo := ""
	if req.Echo {
		echo = text
	}
	t := &textAnswer{chatAnswer: a, tok: m.eng.Tokenizer(), echo: echo}
	if req.Stream {
		return t.stream(ctx, cancel, mergeChoices(cancel, gens))
	}
	return t.complete(ctx, mergeChoices(cancel, gens))
}

// textAnswer writes one text completion.
type textAnswer struct {
	*chatAnswer
	tok  *tokenizer.Tokenizer
	echo string
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
	if r == engine.StopMaxTokens || r == engine.StopContext {
		return "length"
	}
	return "stop"
}

func (a *textAnswer) textCompletion(index int, text string, finish *string) oaiwire.TextCompletion {
	return oaiwire.TextCompletion{
		ID: a.id, Object: "text_completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Choices: []oaiwire.TextChoice{{Text: text, Index: index, FinishReason: finish}},
	}
}

// textChoiceState is what a text completion has of one choice so far.
type textChoiceState struct {
	text     strings.Builder
	logprobs oaiwire.TextLogprobs
	sum      *engine.Summary
}

// add takes a generated token, keeping its log-probabilities if asked.
func (a *textAnswer) add(c *textChoiceState, tok engine.Token) {
	if a.logprobs && !tok.Done {
		addTextLogprob(&c.logprobs, a.tok, tok, c.text.Len())
	}
	c.text.WriteString(tok.Text)
}

func (a *textAnswer) responses(states []textChoiceState) *llm.Response {
	resps := make([]*llm.Response, len(states))
	for i, c := range states {
		resps[i] = responseOf(*c.sum)
	}
	return total(resps)
}

func (a *textAnswer) complete(ctx context.Context, gen iter.Seq2[choiceItem[engine.Token], error]) *apiError {
	states := make([]textChoiceState, a.choices)
	for i := range states {
		states[i].text.WriteString(a.echo)
	}
	var err error
	for it, e := range gen {
		if e != nil {
			err = e
			break
		}
		a.sawOutput()
		c := &states[it.index]
		a.add(c, it.v)
		if !it.v.Done {
			a.generated++
		}
		if it.v.Done {
			c.sum = &it.v.Summary
		}
	}
	if err == nil && slices.ContainsFunc(states, func(c textChoiceState) bool { return c.sum == nil }) {
		err = errors.New("the generation ended without an answer")
	}
	var resp *llm.Response
	if err == nil {
		resp = a.responses(states)
	}
	if e := a.finished(ctx, resp, err); e != nil {
		return e
	}
	out := oaiwire.TextCompletion{
		ID: a.id, Object: "text_completion", Created: a.created, Model: a.s.id, SystemFingerprint: a.s.fingerprint(),
		Usage: oaiwire.UsageOf(resp), Timings: oaiwire.TimingsOf(resp),
	}
	for i := range states {
		c := &states[i]
		choice := oaiwire.TextChoice{Text: c.text.String(), Index: i, FinishReason: ptr(textFinish(c.sum.Reason))}
		if a.logprobs {
			choice.Logprobs = &c.logprobs
		}
		out.Choices = append(out.Choices, choice)
	}
	writeJSON(a.sw, http.StatusOK, out)
	return nil
}

func (a *textAnswer) stream(ctx context.Context, cancel context.CancelFunc, gen iter.Seq2[choiceItem[engine.Token], error]) *apiError {
	sse := startSSE(a.sw)
	states := make([]textChoiceState, a.choices)
	if a.echo != "" {
		for i := range states {
			sse.data(a.textCompletion(i, a.echo, nil))
		}
	}
	done := 0
	// chunk is the next chunk of choice i, with the log-probabilities of
	// the tokens since its last chunk.
	chunk := func(i int, tok engine.Token, finish *string) oaiwire.TextCompletion {
		c := &states[i]
		c.logprobs = oaiwire.TextLogprobs{}
		a.add(c, tok)
		chunk := a.textCompletion(i, tok.Text, finish)
		if a.logprobs {
			chunk.Choices[0].Logprobs = &c.logprobs
		}
		return chunk
	}
	var failed *apiError
	err := pump(ctx, cancel, sse, a.s.cfg.PingInterval, gen, func(it choiceItem[engine.Token]) bool {
		a.sawOutput()
		i, tok := it.index, it.v
		if !tok.Done {
			a.generated++
			if tok.Text != "" || a.logprobs {
				sse.data(chunk(i, tok, nil))
			}
			return false
		}
		states[i].sum = &tok.Summary
		last := chunk(i, tok, ptr(textFinish(tok.Summary.Reason)))
		last.Timings = oaiwire.TimingsOf(responseOf(tok.Summary))
		sse.data(last)
		if done++; done < a.choices {
			return false
		}
		resp := a.responses(states)
		if failed = a.finished(ctx, resp, nil); failed != nil {
			return true
		}
		if a.usage {
			u := a.textCompletion(0, "", nil)
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
