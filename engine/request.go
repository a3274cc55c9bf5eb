package engine

import (
	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/llm"
)

// Request is one generation.
type Request struct {
	// Tokens is the prompt as token ids. If it is empty, Text is
	// tokenized with Engine.Encode.
	Tokens []int32
	Text   string
	// Sampling chooses the tokens; its zero value is greedy decoding.
	Sampling sample.Params
	// Stop strings end generation; the matched text is not emitted.
	Stop []string
	// MaxTokens bounds the generated tokens; 0 means no bound but the
	// context window.
	MaxTokens int
	// IgnoreEOG keeps generating past end-of-generation tokens.
	IgnoreEOG bool
	// Logprobs puts each generated token's log-probability in its Token,
	// and TopLogprobs (at most MaxTopLogprobs) the most likely tokens of
	// each step; TopLogprobs > 0 implies Logprobs.
	Logprobs    bool
	TopLogprobs int
	// NoPromptCache evaluates the whole prompt even when a slot still
	// holds a matching beginning from an earlier request.
	NoPromptCache bool
	// Grammar, if set, constrains the generated text to its sentences:
	// only tokens that continue it are sampled, end-of-generation tokens
	// only where it can end, and the generation ends (StopEOG) once the
	// grammar can match nothing more; under a grammar an
	// end-of-generation token ends the generation even with IgnoreEOG.
	// Stop strings and MaxTokens still apply, so the text may stop
	// short of a whole sentence.
	Grammar *grammar.Grammar
	// GrammarTrigger makes the grammar lazy: sampling is free until the
	// generated text contains GrammarTrigger, and the grammar then
	// constrains the text after it (a tool call that the model chose to
	// open). Before the trigger, end-of-generation tokens end as usual.
	GrammarTrigger string
}

// StopReason says why a generation ended normally.
type StopReason string

// The ways a generation ends without an error. A prompt longer than the
// context is an error instead: *llm.ContextOverflowError.
const (
	// StopEOG: the model produced an end-of-generation token.
	StopEOG StopReason = "eog"
	// StopString: the text reached one of the request's stop strings.
	StopString StopReason = "stop"
	// StopMaxTokens: MaxTokens tokens were generated.
	StopMaxTokens StopReason = "length"
	// StopContext: the generated tokens filled the context window.
	StopContext StopReason = "context"
)

// Token is one item of a generation's stream. Every item but the last
// carries one generated token; the last has Done set and the outcome.
type Token struct {
	// ID is the generated token; -1 in the final item.
	ID int32
	// Text is the text released with this item. Text that might begin a
	// stop string, or an unfinished UTF-8 character, is held back until
	// it is known, so Text can be empty and can lag the tokens; the
	// final item releases what is left.
	Text string
	// Logprob is the token's log-probability and TopLogprobs the most
	// likely tokens of its step, when the request asked for them.
	Logprob     float32
	TopLogprobs []TokenLogprob
	// Done marks the final item, which carries Summary.
	Done    bool
	Summary Summary
}

// Summary is the outcome of a finished generation.
type Summary struct {
	Reason StopReason
	// PromptTokens is the prompt's length; CachedTokens how many of its
	// first tokens were reused from a slot's cache instead of evaluated.
	PromptTokens int
	CachedTokens int
	// Timings counts the prompt tokens evaluated (PromptTokens minus
	// CachedTokens) and the tokens sampled (an end-of-generation token
	// included, as llama.cpp counts them), with the wall time of each
	// phase. With several sequences running, phases overlap with other
	// sequences' work.
	Timings llm.Timings
}
