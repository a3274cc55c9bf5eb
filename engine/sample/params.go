package sample

import (
	"fmt"
	"math"
)

// Params configures a [Sampler]. The zero value is greedy decoding with no
// penalties; [DefaultParams] gives llama.cpp's defaults.
type Params struct {
	// Temperature divides the logits before the draw. Zero or less is
	// greedy decoding.
	Temperature float32
	// TopK keeps the K most likely tokens; zero or less keeps all.
	TopK int
	// TopP keeps the most likely tokens whose probabilities add up to at
	// least TopP (nucleus sampling). Zero, or one and above, disables it.
	TopP float32
	// MinP keeps the tokens at least MinP times as likely as the most
	// likely one. Zero or less disables it.
	MinP float32
	// MinKeep is the fewest tokens top-p and min-p may leave.
	MinKeep int

	// RepeatPenalty divides the positive logits, and multiplies the
	// negative ones, of every token seen in the last RepeatLastN tokens.
	// Zero or one disables it.
	RepeatPenalty float32
	// FrequencyPenalty is subtracted from a seen token's logit once for
	// each time it was seen; PresencePenalty once if it was seen at all.
	FrequencyPenalty float32
	PresencePenalty  float32
	// RepeatLastN is how many of the latest tokens (prompt included) the
	// penalties look at: 0 disables them, -1 means the whole context.
	RepeatLastN int

	// LogitBias is added to the logits of the tokens it names before
	// anything else; -Inf forbids a token.
	LogitBias map[int32]float32

	// Seed seeds the draws: the same seed, logits and history give the
	// same tokens. A negative seed picks a random one.
	Seed int64
}

// DefaultParams returns llama.cpp's default sampling settings
// (common_params_sampling): temperature 0.8, top-k 40, top-p 0.95,
// min-p 0.05, penalties off over a window of 64 tokens, random seed.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		RepeatLastN:   64,
		Seed:          -1,
	}
}

// Greedy reports whether p always picks the most likely token.
func (p Params) Greedy() bool { return p.Temperature <= 0 }

// ParamError is a sampling setting no sampler can use.
type ParamError struct {
	// Reason names the setting and says what is wrong with it, such as
	// "top_p 2 must be a number from 0 to 1".
	Reason string
}

func (e *ParamError) Error() string { return "sample: " + e.Reason }

// Validate reports a value no sampler can use. Its error is always a
// *ParamError.
func (p Params) Validate() error {
	bad := func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }
	switch {
	case bad(p.Temperature):
		return &ParamError{Reason: fmt.Sprintf("temperature %v is not a finite number", p.Temperature)}
	case bad(p.TopP) || p.TopP < 0:
		return &ParamError{Reason: fmt.Sprintf("top_p %v must be a number from 0 to 1", p.TopP)}
	case bad(p.MinP) || p.MinP > 1:
		return &ParamError{Reason: fmt.Sprintf("min_p %v must be a number from 0 to 1", p.MinP)}
	case bad(p.RepeatPenalty) || p.RepeatPenalty < 0:
		return &ParamError{Reason: fmt.Sprintf("repeat_penalty %v must be a positive number", p.RepeatPenalty)}
	case bad(p.FrequencyPenalty):
		return &ParamError{Reason: fmt.Sprintf("frequency_penalty %v is not a finite number", p.FrequencyPenalty)}
	case bad(p.PresencePenalty):
		return &ParamError{Reason: fmt.Sprintf("presence_penalty %v is not a finite number", p.PresencePenalty)}
	case p.RepeatLastN < -1:
		return &ParamError{Reason: fmt.Sprintf("repeat_last_n %d must be -1 (whole context) or more", p.RepeatLastN)}
	case p.MinKeep < 0:
		return &ParamError{Reason: fmt.Sprintf("min_keep %d must not be negative", p.MinKeep)}
	}
	for tok, b := range p.LogitBias {
		if math.IsNaN(float64(b)) || math.IsInf(float64(b), 1) {
			return &ParamError{Reason: fmt.Sprintf("logit bias %v for token %d must be a number or -Inf", b, tok)}
		}
	}
	return nil
}

func (p Params) penaltiesOff() bool {
	repeatOff := p.RepeatPenalty == 0 || p.RepeatPenalty == 1
	return p.RepeatLastN == 0 || (repeatOff && p.FrequencyPenalty == 0 && p.PresencePenalty == 0)
}
