package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLogprobsOf(t *testing.T) {
	logits := []float32{1, 3, 3, float32(math.Inf(-1)), 0.5, 2}
	lp, top := logprobsOf(logits, 4, 3)
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l))
	}
	if want := 0.5 - math.Log(sum); math.Abs(float64(lp)-want) > 1e-6 {
		t.Errorf("logprob %v, want %v", lp, want)
	}
	// Ties go to the lower id; the masked token never appears.
	if ids := []int32{top[0].ID, top[1].ID, top[2].ID}; !slices.Equal(ids, []int32{1, 2, 5}) {
		t.Errorf("top ids %v, want [1 2 5]", ids)
	}
	if top[0].Logprob != top[1].Logprob || top[0].Logprob <= top[2].Logprob {
		t.Errorf("top logprobs %+v", top)
	}
	if _, none := logprobsOf(logits, 0, 0); none != nil {
		t.Errorf("top of 0 gave %v", none)
	}
}

// TestLogprobsOfAgreesWithSort checks the selection against a full sort
// on random logits with many ties.
func TestLogprobsOfAgreesWithSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		logits := make([]float32, 1+r.IntN(300))
		for i := range logits {
			logits[i] = float32(r.IntN(40)) / 4
		}
		top := 1 + r.IntN(MaxTopLogprobs)
		_, got := logprobsOf(logits, 0, top)
		ids := make([]int32, len(logits))
		for i := range ids {
			ids[i] = int32(i)
		}
		slices.SortStableFunc(ids, func(a, b int32) int {
			switch {
			case logits[a] > logits[b]:
				return -1
			case logits[a] < logits[b]:
				return 1
			}
			return 0
		})
		want := ids[:min(top, len(ids))]
		gotIDs := make([]int32, len(got))
		for i, g := range got {
			gotIDs[i] = g.ID
		}
		if !slices.Equal(gotIDs, want) {
			t.Fatalf("top %d of %v: %v, want %v", top, logits, gotIDs, want)
		}
	}
}

// TestGenerateLogprobs: with greedy decoding every token is its step's
// most likely one, so it heads its own top list with the same number.
func TestGenerateLogprobs(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 256})
	n := 0
	for tok, err := range e.Generate(t.Context(), Request{Text: prompt, MaxTokens: 6, IgnoreEOG: true, TopLogprobs: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		if tok.Done {
			break
		}
		n++
		top := tok.TopLogprobs
		if len(top) != 3 || top[0].ID != tok.ID || top[0].Logprob != tok.Logprob || tok.Logprob > 0 {
			t.Fatalf("token %d (logprob %v): top %+v", tok.ID, tok.Logprob, top)
		}
		var p float64
		for _, c := range top {
			p += math.Exp(float64(c.Logprob))
		}
		if p > 1+1e-5 {
			t.Errorf("top probabilities sum to %v", p)
		}
	}
	if n != 6 {
		t.Errorf("%d tokens, want 6", n)
	}
	for _, err := range e.Generate(t.Context(), Request{Text: prompt, TopLogprobs: MaxTopLogprobs + 1}) {
		if err == nil {
			t.Error("top_logprobs above the bound was accepted")
		}
		break
	}
}
