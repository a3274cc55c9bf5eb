package engine

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/llm"
)

// Generate streams the tokens of one generation. Iterating starts it: the
// request waits in FIFO order for a free slot, its prompt is evaluated,
// and every sampled token is yielded as it comes, then a final Token with
// Done and the Summary. A failure ends the stream with a non-nil error:
// a prompt longer than the context gives an *llm.ContextOverflowError
// (a generation that fills it ends normally, with StopContext); a bad
// request an *llm.RequestError;
// ctx's end its cause. Ending ctx, or stopping the iteration early,
// cancels the generation: between tokens, and between the layers of a
// prompt being evaluated.
func (e *Engine) Generate(ctx context.Context, req Request) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		g, err := e.newGeneration(ctx, req)
		if err == nil {
			err = e.sched.submit(g)
		}
		if err != nil {
			if g != nil {
				g.cancel()
			}
			yield(Token{}, err)
			return
		}
		defer g.cancel()
		var buf []item
		for {
			select {
			case <-g.out.notify:
			case <-g.ctx.Done():
				// Answer at once; the scheduler frees the slot when it
				// next looks. Items already produced still come first.
				buf, _ = g.out.take(buf)
				for _, it := range buf {
					if !yield(it.tok, it.err) || it.err != nil || it.tok.Done {
						return
					}
				}
				yield(Token{}, context.Cause(g.ctx))
				return
			}
			var ended bool
			buf, ended = g.out.take(buf)
			for _, it := range buf {
				if !yield(it.tok, it.err) || it.err != nil || it.tok.Done {
					return
				}
			}
			if ended {
				return
			}
		}
	}
}

func (e *Engine) newGeneration(ctx context.Context, req Request) (*generation, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case req.MaxTokens < 0:
		return nil, &llm.RequestError{Reason: "max_tokens must not be negative"}
	case req.TopLogprobs < 0 || req.TopLogprobs > MaxTopLogprobs:
		return nil, &llm.RequestError{Reason: fmt.Sprintf("top_logprobs must be from 0 to %d", MaxTopLogprobs)}
	}
	prompt := slices.Clone(req.Tokens) // the caller may reuse its slice
	if len(prompt) == 0 {
		prompt = e.Encode(req.Text)
	}
	if len(prompt) == 0 {
		return nil, &llm.RequestError{Reason: "the prompt is empty"}
	}
	vocab := e.tok.NumTokens()
	for _, t := range prompt {
		if t < 0 || int(t) >= vocab {
			return nil, &llm.RequestError{Reason: "prompt token id out of range"}
		}
	}
	if len(prompt) > e.opts.ContextLength {
		return nil, &llm.ContextOverflowError{Required: len(prompt), Available: e.opts.ContextLength}
	}
	if err := req.Sampling.Validate(); err != nil {
		return nil, &llm.RequestError{Reason: err.(*sample.ParamError).Reason}
	}
	smp, err := sample.New(req.Sampling, vocab)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	var matcher *grammar.Matcher
	if req.Grammar != nil {
		matcher = req.Grammar.NewMatcher(e.grammarVocab())
	}
	gctx, cancel := context.WithCancelCause(ctx)
	return &generation{
		matcher: matcher, lazy: matcher != nil && req.GrammarTrigger != "",
		ctx: gctx, cancel: func() { cancel(context.Canceled) }, cancelCause: cancel, req: req, prompt: prompt,
		sampler: smp,
		stop:    sample.NewStopMatcher(req.Stop),
		dec:     e.tok.NewStreamDecoder(false),
		out:     outbox{notify: make(chan struct{}, 1)},
	}, nil
}

// Result is a whole generation, as Complete returns it.
type Result struct {
	Text    string
	Tokens  []int32
	Summary Summary
}

// Complete runs a generation to its end and returns its text.
func (e *Engine) Complete(ctx context.Context, req Request) (Result, error) {
	var r Result
	var b strings.Builder
	for tok, err := range e.Generate(ctx, req) {
		if err != nil {
			r.Text = b.String()
			return r, err
		}
		b.WriteString(tok.Text)
		if tok.Done {
			r.Summary = tok.Summary
			break
		}
		r.Tokens = append(r.Tokens, tok.ID)
	}
	r.Text = b.String()
	return r, nil
}
