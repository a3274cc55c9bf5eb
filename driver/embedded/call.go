package embedded

import (
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/llm"
)

// Call is a request with the settings of an OpenAI-compatible server that
// [llm.Request] does not carry.
type Call struct {
	llm.Request
	// EnableThinking is passed to chat templates that read
	// enable_thinking (Qwen3); nil leaves the template's default.
	EnableThinking *bool
	// FrequencyPenalty and PresencePenalty are OpenAI's penalties over
	// the request's RepeatLastN window.
	FrequencyPenalty *float64
	PresencePenalty  *float64
	// LogitBias is added to the logits of the tokens it names; -Inf
	// forbids a token (OpenAI's logit_bias, where -100 means that).
	LogitBias map[int32]float32
	// IgnoreEOS keeps generating past end-of-generation tokens, up to
	// MaxTokens or the context window (llama.cpp's ignore_eos).
	IgnoreEOS bool
	// Logprobs asks for each generated token's log-probability
	// (EventLogprobs, Response.Logprobs), and TopLogprobs (at most
	// engine.MaxTopLogprobs) for the most likely tokens of each step.
	Logprobs    bool
	TopLogprobs int
	// Grammar, in GBNF (llama.cpp's grammar field), constrains the
	// answer's text; see package grammar.
	Grammar string
}

// samplingFor fills base with the call's settings.
func samplingFor(base sample.Params, c Call) sample.Params {
	p := base
	f32 := func(dst *float32, v *float64) {
		if v != nil {
			*dst = float32(*v)
		}
	}
	f32(&p.Temperature, c.Temperature)
	f32(&p.TopP, c.TopP)
	f32(&p.MinP, c.MinP)
	f32(&p.RepeatPenalty, c.RepeatPenalty)
	f32(&p.FrequencyPenalty, c.FrequencyPenalty)
	f32(&p.PresencePenalty, c.PresencePenalty)
	if c.TopK != nil {
		p.TopK = *c.TopK
	}
	if c.RepeatLastN != nil {
		p.RepeatLastN = *c.RepeatLastN
	}
	if c.Seed != nil {
		p.Seed = *c.Seed
	}
	if len(c.LogitBias) > 0 {
		bias := make(map[int32]float32, len(base.LogitBias)+len(c.LogitBias))
		for id, b := range base.LogitBias {
			bias[id] = b
		}
		for id, b := range c.LogitBias {
			bias[id] = b
		}
		p.LogitBias = bias
	}
	return p
}
