package embedded

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/think"
	"github.com/tetherllm/tether/toolcall"
)

// Turn is a call rendered and tokenized, ready to run. Its Stream may be
// run more than once; each run is a new generation.
type Turn struct {
	d   *Driver
	r   rendered
	req engine.Request
	// generated counts the tokens its runs have generated, for a server
	// that accounts for a run cut short.
	generated atomic.Int64
}

// Prepare validates c, renders it with the model's chat template and
// tokenizes it, without generating. Errors: an *llm.RequestError for a
// bad request, an *llm.ContextOverflowError for a prompt longer than the
// context window, an *llm.ModelFileError for a model whose chat template
// cannot be used.
func (d *Driver) Prepare(c Call) (*Turn, error) {
	// Tokenizing stops past the context window: the answer is an
	// overflow whatever the rest holds, and a prompt of megabytes would
	// otherwise cost memory in proportion to itself.
	n := d.eng.Info().ContextLength
	p, err := d.tokenize(c, n)
	if err != nil {
		return nil, err
	}
	if !p.complete {
		return nil, overflow(len(p.tokens), n)
	}
	r, constrained, trigger, tokens := p.r, p.constrained, p.trigger, p.tokens
	maxTokens := c.MaxTokens
	if maxTokens == 0 {
		maxTokens = d.maxTok
	}
	sampling := samplingFor(d.sampling, c)
	for id := range c.LogitBias {
		if id < 0 || int(id) >= d.eng.Tokenizer().NumTokens() {
			return nil, &llm.RequestError{Reason: fmt.Sprintf("logit_bias names token %d, which is not in the vocabulary", id)}
		}
	}
	if c.TopLogprobs < 0 || c.TopLogprobs > engine.MaxTopLogprobs {
		return nil, &llm.RequestError{Reason: fmt.Sprintf("top_logprobs must be from 0 to %d", engine.MaxTopLogprobs)}
	}
	if err := sampling.Validate(); err != nil {
		return nil, &llm.RequestError{Reason: err.(*sample.ParamError).Reason}
	}
	return &Turn{d: d, r: r, req: engine.Request{
		Tokens:    tokens,
		Sampling:  sampling,
		Stop:      c.Stop,
		MaxTokens: maxTokens,
		IgnoreEOG: c.IgnoreEOS,

		Logprobs:    c.Logprobs,
		TopLogprobs: c.TopLogprobs,
		Grammar:     constrained,

		GrammarTrigger: trigger,
	}}, nil
}

// prepared is a call rendered and tokenized up to a limit.
type prepared struct {
	r           rendered
	constrained *grammar.Grammar
	trigger     string
	tokens      []int32
	complete    bool // false: the prompt has more than the limit's tokens
}

// tokenize validates, renders and tokenizes c, stopping past limit tokens.
func (d *Driver) tokenize(c Call, limit int) (prepared, error) {
	if err := d.checkOpen(); err != nil {
		return prepared{}, err
	}
	if err := c.Validate(); err != nil {
		return prepared{}, err
	}
	r, err := d.render(c)
	if err != nil {
		return prepared{}, err
	}
	constrained, trigger, err := constraint(c, &r)
	if err != nil {
		return prepared{}, err
	}
	tokens, complete := d.eng.EncodePromptLimit(r.prompt, limit)
	return prepared{r: r, constrained: constrained, trigger: trigger, tokens: tokens, complete: complete}, nil
}

// CountTokens is the length in tokens of the prompt Prepare would make
// of c, counted up to limit (limit < 0: all of it), whatever the context
// window; complete is false when the prompt has more than limit tokens,
// and n is then the count so far. It bounds the memory that counting a
// huge prompt takes.
func (d *Driver) CountTokens(c Call, limit int) (n int, complete bool, err error) {
	p, err := d.tokenize(c, limit)
	if err != nil {
		return 0, false, err
	}
	return len(p.tokens), p.complete, nil
}

// Choice returns another turn of the same prompt, sampling with seed
// when it is given, for the choices of one request: the call is not
// rendered and tokenized again. Its Generated counts its own runs.
func (t *Turn) Choice(seed *int64) *Turn {
	c := &Turn{d: t.d, r: t.r, req: t.req}
	if seed != nil {
		c.req.Sampling.Seed = *seed
	}
	return c
}

// Generated is the number of tokens the turn's runs have generated so
// far, whether they finished or not.
func (t *Turn) Generated() int { return int(t.generated.Load()) }

// PromptTokens is the length of the prompt in tokens.
func (t *Turn) PromptTokens() int { return len(t.req.Tokens) }

// Tokens returns a copy of the prompt's tokens.
func (t *Turn) Tokens() []int32 { return append([]int32(nil), t.req.Tokens...) }

// ToolSyntax is how calls are parsed from the answer: "" when the call
// has no tools, "text" for tether's text protocol, else the chat
// template's syntax ("hermes", "llama3-json").
func (t *Turn) ToolSyntax() string { return t.r.syntax }

// Stream runs the turn and yields its events; see [llm.Driver.Stream].
func (t *Turn) Stream(ctx context.Context) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		if err := t.d.checkOpen(); err != nil {
			yield(llm.Event{}, err)
			return
		}
		out := newOutput(t)
		// The prefill opens a call; the parsers hold it until the call is
		// complete, so this emits nothing the model did not write.
		if !out.push(t.r.prefill, yield) {
			return
		}
		for tok, err := range t.d.eng.Generate(ctx, t.req) {
			if err != nil {
				yield(llm.Event{}, engineError(err))
				return
			}
			if !tok.Done {
				t.generated.Add(1)
			}
			if !tok.Done && (t.req.Logprobs || t.req.TopLogprobs > 0) && !out.logprobs(t.d.eng.Tokenizer(), tok, yield) {
				return
			}
			if !out.push(tok.Text, yield) {
				return
			}
			if tok.Done {
				out.finish(tok.Summary, yield)
				return
			}
		}
	}
}

// callParser finds tool calls in answer text that arrives in pieces.
type callParser interface {
	Push(string) []toolcall.Item
	Flush() []toolcall.Item
}

// plain passes text through: the call has no tools.
type plain struct{}

func (plain) Push(s string) []toolcall.Item {
	if s == "" {
		return nil
	}
	return []toolcall.Item{{Text: s}}
}
func (plain) Flush() []toolcall.Item { return nil }

// output turns generated text into events and the final response.
type output struct {
	split     *think.Splitter
	calls     callParser
	text      strings.Builder
	reasoning strings.Builder
	resp      llm.Response
}

// logprobs yields the log-probabilities of a generated token and keeps
// them for the response.
func (o *output) logprobs(tok *tokenizer.Tokenizer, t engine.Token, yield func(llm.Event, error) bool) bool {
	lp := tokenLogprob(tok, t.ID, t.Logprob)
	if len(t.TopLogprobs) > 0 {
		lp.Top = make([]llm.TokenLogprob, len(t.TopLogprobs))
		for i, c := range t.TopLogprobs {
			lp.Top[i] = tokenLogprob(tok, c.ID, c.Logprob)
		}
	}
	o.resp.Logprobs = append(o.resp.Logprobs, lp)
	return yield(llm.Event{Kind: llm.EventLogprobs, Logprobs: []llm.TokenLogprob{lp}}, nil)
}

func tokenLogprob(tok *tokenizer.Tokenizer, id int32, logprob float32) llm.TokenLogprob {
	piece := tok.Piece(id, true)
	return llm.TokenLogprob{Token: piece, Bytes: []byte(piece), Logprob: float64(logprob)}
}

func newOutput(t *Turn) *output {
	o := &output{split: think.NewSplitter(t.r.prompt.Thinking == chat.ThinkingOpen)}
	switch t.r.syntax {
	case syntaxNone:
		o.calls = plain{}
	case chat.ToolSyntaxLlama3:
		o.calls = newLlama3Parser(t.d.ids)
	default:
		o.calls = toolcall.NewStream(t.d.ids)
	}
	return o
}

// push feeds generated text; it reports false if the consumer stopped.
func (o *output) push(s string, yield func(llm.Event, error) bool) bool {
	if s == "" {
		return true
	}
	text, reasoning := o.split.Push(s)
	return o.emit(text, reasoning, o.calls.Push, yield)
}

func (o *output) emit(text, reasoning string, parse func(string) []toolcall.Item, yield func(llm.Event, error) bool) bool {
	if reasoning != "" {
		o.reasoning.WriteString(reasoning)
		if !yield(llm.Event{Kind: llm.EventReasoningDelta, Text: reasoning}, nil) {
			return false
		}
	}
	for _, it := range parse(text) {
		if !o.item(it, yield) {
			return false
		}
	}
	return true
}

func (o *output) item(it toolcall.Item, yield func(llm.Event, error) bool) bool {
	if it.Call != nil {
		c := *it.Call
		o.resp.ToolCalls = append(o.resp.ToolCalls, c)
		start := llm.ToolCall{ID: c.ID, Name: c.Name}
		return yield(llm.Event{Kind: llm.EventToolCallStart, ToolCall: &start}, nil) &&
			yield(llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c}, nil)
	}
	if it.Text == "" {
		return true
	}
	o.text.WriteString(it.Text)
	return yield(llm.Event{Kind: llm.EventTextDelta, Text: it.Text}, nil)
}

// finish releases what the parsers hold and yields EventDone.
func (o *output) finish(sum engine.Summary, yield func(llm.Event, error) bool) {
	text, reasoning := o.split.Flush()
	flushed := false
	parse := func(s string) []toolcall.Item {
		items := o.calls.Push(s)
		if !flushed {
			flushed = true
			items = append(items, o.calls.Flush()...)
		}
		return items
	}
	if !o.emit(text, reasoning, parse, yield) {
		return
	}
	resp := o.resp
	resp.Text, resp.Reasoning = o.text.String(), o.reasoning.String()
	resp.StopReason = stopReason(sum.Reason, len(resp.ToolCalls) > 0)
	resp.Usage = llm.Usage{InputTokens: sum.PromptTokens, OutputTokens: sum.Timings.GeneratedTokens}
	resp.Timings = sum.Timings
	yield(llm.Event{Kind: llm.EventDone, Response: &resp}, nil)
}

func stopReason(r engine.StopReason, calls bool) llm.StopReason {
	switch {
	case calls:
		return llm.StopToolUse
	case r == engine.StopMaxTokens:
		return llm.StopMaxTokens
	case r == engine.StopContext:
		return llm.StopContextWindow
	case r == engine.StopString:
		return llm.StopStopSequence
	}
	return llm.StopEndTurn
}

// overflow is the error for a prompt found to have more than n tokens
// after counting counted of them: Required is a lower bound, at least
// n+1, since counting stopped there.
func overflow(counted, n int) *llm.ContextOverflowError {
	return &llm.ContextOverflowError{Required: max(counted, n+1), Available: n,
		Message: fmt.Sprintf("the prompt has more than %d tokens, the context window", n)}
}
