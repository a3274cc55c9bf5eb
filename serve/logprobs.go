package serve

import (
	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/internal/oaiwire"
)

// addTextLogprob appends a generated token, whose text starts at offset
// in the choice's text, to a legacy logprobs object.
func addTextLogprob(l *oaiwire.TextLogprobs, tok *tokenizer.Tokenizer, t engine.Token, offset int) {
	l.Tokens = append(l.Tokens, oaiwire.ValidText(tok.Piece(t.ID, true)))
	l.TokenLogprobs = append(l.TokenLogprobs, oaiwire.FiniteLogprob(float64(t.Logprob)))
	top := make(map[string]float64, len(t.TopLogprobs))
	for _, c := range t.TopLogprobs {
		piece := oaiwire.ValidText(tok.Piece(c.ID, true))
		if _, dup := top[piece]; !dup { // two tokens can share a text; keep the likelier
			top[piece] = oaiwire.FiniteLogprob(float64(c.Logprob))
		}
	}
	l.TopLogprobs = append(l.TopLogprobs, top)
	l.TextOffset = append(l.TextOffset, offset)
}
