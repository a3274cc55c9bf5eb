package oaiwire

import (
	"math"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// Logprobs is a chat choice's logprobs object: {"content": [...],
// "refusal": null}.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
	Refusal *string        `json:"refusal"`
}

// TokenLogprob is one token of Logprobs.Content, or one of its
// TopLogprobs (which have none of their own). Bytes are numbers, as
// OpenAI sends them.
type TokenLogprob struct {
	Token       string          `json:"token"`
	Logprob     float64         `json:"logprob"`
	Bytes       []int           `json:"bytes"`
	TopLogprobs *[]TokenLogprob `json:"top_logprobs,omitempty"`
}

// LogprobsOf is the logprobs object of generated tokens.
func LogprobsOf(lps []llm.TokenLogprob) *Logprobs {
	out := &Logprobs{Content: make([]TokenLogprob, len(lps))}
	for i, lp := range lps {
		t := tokenLogprob(lp)
		top := make([]TokenLogprob, len(lp.Top))
		for j, c := range lp.Top {
			top[j] = tokenLogprob(c)
		}
		t.TopLogprobs = &top
		out.Content[i] = t
	}
	return out
}

func tokenLogprob(lp llm.TokenLogprob) TokenLogprob {
	b := make([]int, len(lp.Bytes))
	for i, c := range lp.Bytes {
		b[i] = int(c)
	}
	return TokenLogprob{Token: ValidText(lp.Token), Logprob: FiniteLogprob(lp.Logprob), Bytes: b}
}

// ValidText is a token's text for JSON: a token can be part of a UTF-8
// character, whose bytes the Bytes field carries instead.
func ValidText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// FiniteLogprob keeps JSON encodable the log-probability of a token the
// model gives no chance at all (only possible among the top alternatives
// of a step with fewer possible tokens than asked for).
func FiniteLogprob(lp float64) float64 {
	if math.IsInf(lp, -1) {
		return -9999
	}
	return lp
}

// TextLogprobs is a text completion choice's logprobs object, in the
// legacy completions shape.
type TextLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}
