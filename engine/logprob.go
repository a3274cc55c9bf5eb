package engine

import "math"

// MaxTopLogprobs bounds Request.TopLogprobs, as OpenAI does.
const MaxTopLogprobs = 20

// TokenLogprob is a token and the natural logarithm of its probability
// in the distribution it was drawn from.
type TokenLogprob struct {
	ID      int32
	Logprob float32
}

// logprobsOf returns the log-probability of tok under the softmax of
// logits and the top most likely tokens, most likely first (ties by
// rising id). The logits are those the sampler was given: the model's,
// after any grammar mask, before penalties and temperature, so the
// numbers describe the model and not the sampling settings.
func logprobsOf(logits []float32, tok int32, top int) (float32, []TokenLogprob) {
	maxLogit := float32(math.Inf(-1))
	for _, l := range logits {
		maxLogit = max(maxLogit, l)
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l - maxLogit))
	}
	norm := float64(maxLogit) + math.Log(sum)
	lp := func(id int32) float32 { return float32(float64(logits[id]) - norm) }

	var best []TokenLogprob
	if top > 0 {
		// Insertion into a short sorted list: top is at most 20, and
		// most logits fail the first comparison.
		best = make([]TokenLogprob, 0, top+1)
		for id, l := range logits {
			n := len(best)
			if n == top && !(l > logits[best[n-1].ID]) {
				continue
			}
			i := n
			for i > 0 && l > logits[best[i-1].ID] {
				i--
			}
			best = append(best, TokenLogprob{})
			copy(best[i+1:], best[i:n])
			best[i] = TokenLogprob{ID: int32(id)}
			if len(best) > top {
				best = best[:top]
			}
		}
		for i := range best {
			best[i].Logprob = lp(best[i].ID)
		}
	}
	return lp(tok), best
}
