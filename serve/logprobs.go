package serve

import (
	"math"
	"strings"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/tokenizer"
	"github.com/tetherllm/tether/llm"
)

// chatLogprobs is a chat choice's logprobs object: OpenAI's
// {"content": [...], "refusal": null}.
type chatLogprobs struct {
	Content []tokenLogprob `json:"content"`
	Refusal *string        `json:"refusal"`
}

// tokenLogprob is one token of chatLogprobs.content, or one of its
// top_logprobs (which have none of their own). Bytes are numbers, as
// OpenAI sends them.
type tokenLogprob struct {
	Token       string          `json:"token"`
	Logprob     float64         `json:"logprob"`
	Bytes       []int           `json:"bytes"`
	TopLogprobs *[]tokenLogprob `json:"top_logprobs,omitempty"`
}

func chatLogprobsOf(lps []llm.TokenLogprob) *chatLogprobs {
	out := &chatLogprobs{Content: make([]tokenLogprob, len(lps))}
	for i, lp := range lps {
		t := wireLogprob(lp)
		top := make([]tokenLogprob, len(lp.Top))
		for j, c := range lp.Top {
			top[j] = wireLogprob(c)
		}
		t.TopLogprobs = &top
		out.Content[i] = t
	}
	return out
}

func wireLogprob(lp llm.TokenLogprob) tokenLogprob {
	b := make([]int, len(lp.Bytes))
	for i, c := range lp.Bytes {
		b[i] = int(c)
	}
	return tokenLogprob{Token: strings.ToValidUTF8(lp.Token, "\uFFFD"), Logprob: finite(lp.Logprob), Bytes: b}
}

// finite keeps JSON encodable a log-probability of a token the model
// gives no chance at all (only possible among the top alternatives of a
// step with fewer possible tokens than asked for).
func finite(lp float64) float64 {
	if math.IsInf(lp, -1) {
		return -9999
	}
	return lp
}

// textLogprobs is a text completion choice's logprobs object, in the
// legacy completions shape.
type textLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// add appends a generated token whose text starts at offset in the
// choice's text.
func (l *textLogprobs) add(tok *tokenizer.Tokenizer, t engine.Token, offset int) {
	l.Tokens = append(l.Tokens, strings.ToValidUTF8(tok.Piece(t.ID, true), "\uFFFD"))
	l.TokenLogprobs = append(l.TokenLogprobs, finite(float64(t.Logprob)))
	top := make(map[string]float64, len(t.TopLogprobs))
	for _, c := range t.TopLogprobs {
		piece := strings.ToValidUTF8(tok.Piece(c.ID, true), "\uFFFD")
		if _, dup := top[piece]; !dup { // two tokens can share a text; keep the likelier
			top[piece] = finite(float64(c.Logprob))
		}
	}
	l.TopLogprobs = append(l.TopLogprobs, top)
	l.TextOffset = append(l.TextOffset, offset)
}
