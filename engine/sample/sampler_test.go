package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func newSampler(t *testing.T, p Params, vocab int) *Sampler {
	t.Helper()
	s, err := New(p, vocab)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	return s
}

func sampleOne(t *testing.T, s *Sampler, logits []float32) int32 {
	t.Helper()
	tok, err := s.Sample(logits)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	return tok
}

// frequencies draws n tokens and returns how often each came up.
func frequencies(t *testing.T, s *Sampler, logits []float32, n int) []float64 {
	t.Helper()
	freq := make([]float64, len(logits))
	for range n {
		freq[sampleOne(t, s, logits)]++
	}
	for i := range freq {
		freq[i] /= float64(n)
	}
	return freq
}

func softmax64(logits []float32, temp float64) []float64 {
	maxL := math.Inf(-1)
	for _, l := range logits {
		maxL = max(maxL, float64(l)/temp)
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		p[i] = math.Exp(float64(l)/temp - maxL)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// checkFrequencies fails if a frequency is further than 5 standard
// errors from its expected probability.
func checkFrequencies(t *testing.T, got, want []float64, n int) {
	t.Helper()
	for i := range want {
		sigma := math.Sqrt(want[i]*(1-want[i])/float64(n)) + 1e-9
		if math.Abs(got[i]-want[i]) > 5*sigma {
			t.Errorf("token %d: frequency %.4f, want %.4f ± %.4f", i, got[i], want[i], 5*sigma)
		}
	}
}

func TestGreedy(t *testing.T) {
	tests := []struct {
		name   string
		p      Params
		logits []float32
		want   int32
	}{
		{"highest logit", Params{}, []float32{0.1, 3, -1, 2.9}, 1},
		{"tie goes to the lowest id", Params{}, []float32{1, 5, 5, 0}, 1},
		{"negative temperature is greedy", Params{Temperature: -1}, []float32{0, 0, 7}, 2},
		{"bias changes the winner", Params{LogitBias: map[int32]float32{0: 5}}, []float32{1, 3, 2}, 0},
		{"-Inf bias forbids", Params{LogitBias: map[int32]float32{1: float32(math.Inf(-1))}}, []float32{1, 3, 2}, 2},
		{"out of range bias ignored", Params{LogitBias: map[int32]float32{99: 5, -1: 5}}, []float32{1, 3, 2}, 1},
		{"top-k does not change greedy", Params{TopK: 1, TopP: 0.1, MinP: 0.9}, []float32{1, 3, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSampler(t, tt.p, len(tt.logits))
			if got := sampleOne(t, s, tt.logits); got != tt.want {
				t.Errorf("got token %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPenalties(t *testing.T) {
	// The sampler's penalised logits are observable through greedy picks:
	// build cases where the penalty decides the winner.
	tests := []struct {
		name    string
		p       Params
		history []int32
		logits  []float32
		want    int32
	}{
		{"repeat divides a positive logit", Params{RepeatPenalty: 2, RepeatLastN: 8}, []int32{0}, []float32{3, 2, 0}, 1},
		{"repeat below the threshold keeps the winner", Params{RepeatPenalty: 1.4, RepeatLastN: 8}, []int32{0}, []float32{3, 2, 0}, 0},
		{"repeat multiplies a negative logit", Params{RepeatPenalty: 2, RepeatLastN: 8}, []int32{0}, []float32{-1, -1.5, -9}, 1},
		{"unseen tokens untouched", Params{RepeatPenalty: 2, RepeatLastN: 8}, []int32{2}, []float32{3, 2, 0}, 0},
		{"frequency counts each occurrence", Params{FrequencyPenalty: 0.4, RepeatLastN: 8}, []int32{0, 0, 0}, []float32{3, 2, 0}, 1},
		{"frequency once is not enough", Params{FrequencyPenalty: 0.4, RepeatLastN: 8}, []int32{0, 0}, []float32{3, 2.1, 0}, 0},
		{"presence counts once", Params{PresencePenalty: 1.5, RepeatLastN: 8}, []int32{0}, []float32{3, 2, 0}, 1},
		{"presence ignores repeats", Params{PresencePenalty: 0.5, RepeatLastN: 8}, []int32{0, 0, 0, 0}, []float32{3, 2, 0}, 0},
		{"window of 0 disables", Params{RepeatPenalty: 10, RepeatLastN: 0}, []int32{0}, []float32{3, 2, 0}, 0},
		{"token slides out of the window", Params{RepeatPenalty: 10, RepeatLastN: 2}, []int32{0, 2, 2}, []float32{3, 2, 0}, 0},
		{"token still inside the window", Params{RepeatPenalty: 10, RepeatLastN: 3}, []int32{0, 2, 2}, []float32{3, 2, 0}, 1},
		{"whole context with -1", Params{RepeatPenalty: 10, RepeatLastN: -1}, []int32{0}, []float32{3, 2, 0}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSampler(t, tt.p, len(tt.logits))
			for _, tok := range tt.history {
				s.Accept(tok)
			}
			if got := sampleOne(t, s, tt.logits); got != tt.want {
				t.Errorf("got token %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPenaltyWindowWholeContext(t *testing.T) {
	s := newSampler(t, Params{RepeatPenalty: 10, RepeatLastN: -1}, 3)
	s.Accept(0)
	for range 1000 {
		s.Accept(2)
	}
	if got := sampleOne(t, s, []float32{3, 2, 0.1}); got != 1 {
		t.Errorf("token 0, seen 1001 tokens ago, is not penalised: got %d, want 1", got)
	}
}

func TestResetForgetsHistory(t *testing.T) {
	s := newSampler(t, Params{RepeatPenalty: 10, RepeatLastN: 4}, 3)
	s.Accept(0)
	s.Reset()
	if got := sampleOne(t, s, []float32{3, 2, 0}); got != 0 {
		t.Errorf("after Reset got %d, want 0", got)
	}
}

func TestTemperatureDistribution(t *testing.T) {
	logits := []float32{1.0, 0.5, -0.3, 2.0, 0.0, -1.5}
	for _, temp := range []float64{0.5, 1, 2.5} {
		s := newSampler(t, Params{Temperature: float32(temp), Seed: 7}, len(logits))
		const n = 100000
		got := frequencies(t, s, logits, n)
		checkFrequencies(t, got, softmax64(logits, temp), n)
	}
}

func TestTopKDistribution(t *testing.T) {
	logits := []float32{1.0, 0.5, -0.3, 2.0, 0.0}
	s := newSampler(t, Params{Temperature: 1, TopK: 2, Seed: 3}, len(logits))
	const n = 50000
	got := frequencies(t, s, logits, n)
	want := make([]float64, len(logits))
	p := softmax64([]float32{1.0, 2.0}, 1)
	want[0], want[3] = p[0], p[1]
	checkFrequencies(t, got, want, n)
}

// probsLogits returns logits whose softmax is p.
func probsLogits(p []float64) []float32 {
	l := make([]float32, len(p))
	for i, v := range p {
		l[i] = float32(math.Log(v))
	}
	return l
}

func TestTopP(t *testing.T) {
	logits := probsLogits([]float64{0.5, 0.3, 0.15, 0.05})
	tests := []struct {
		name string
		p    Params
		want []float64
	}{
		{"keeps the nucleus", Params{Temperature: 1, TopP: 0.7}, []float64{0.5 / 0.8, 0.3 / 0.8, 0, 0}},
		{"includes the token that crosses p", Params{Temperature: 1, TopP: 0.81}, []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"min_keep", Params{Temperature: 1, TopP: 0.1, MinKeep: 3}, []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"1 disables", Params{Temperature: 1, TopP: 1}, []float64{0.5, 0.3, 0.15, 0.05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Seed = 11
			s := newSampler(t, tt.p, len(logits))
			const n = 40000
			checkFrequencies(t, frequencies(t, s, logits, n), tt.want, n)
		})
	}
}

func TestMinP(t *testing.T) {
	logits := probsLogits([]float64{0.5, 0.3, 0.15, 0.05})
	tests := []struct {
		name string
		p    Params
		want []float64
	}{
		{"keeps tokens at least p times the best", Params{Temperature: 1, MinP: 0.4}, []float64{0.5 / 0.8, 0.3 / 0.8, 0, 0}},
		{"a token just above the floor stays", Params{Temperature: 1, MinP: 0.29}, []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"min_keep", Params{Temperature: 1, MinP: 0.9, MinKeep: 2}, []float64{0.5 / 0.8, 0.3 / 0.8, 0, 0}},
		{"after top-k (sorted path)", Params{Temperature: 1, TopK: 3, MinP: 0.4}, []float64{0.5 / 0.8, 0.3 / 0.8, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Seed = 5
			s := newSampler(t, tt.p, len(logits))
			const n = 40000
			checkFrequencies(t, frequencies(t, s, logits, n), tt.want, n)
		})
	}
}

// TestChainOrder checks llama.cpp's order: penalties before top-k, and
// the filters before temperature.
func TestChainOrder(t *testing.T) {
	t.Run("penalties before top-k", func(t *testing.T) {
		s := newSampler(t, Params{Temperature: 1, TopK: 1, RepeatPenalty: 2, RepeatLastN: 4}, 3)
		s.Accept(0)
		for range 100 {
			if got := sampleOne(t, s, []float32{3, 2.9, 0}); got != 1 {
				t.Fatalf("got %d, want 1: the penalty must act before top-k", got)
			}
		}
	})
	t.Run("min-p before temperature", func(t *testing.T) {
		// p(2)/p(0) = e^-3 < 0.1 before temperature, e^-0.3 after.
		s := newSampler(t, Params{Temperature: 10, MinP: 0.1, Seed: 1}, 3)
		freq := frequencies(t, s, []float32{0, -1, -3}, 20000)
		if freq[2] != 0 {
			t.Errorf("token 2 drawn with frequency %v; min-p must filter before temperature", freq[2])
		}
		if freq[1] < 0.4 {
			t.Errorf("token 1 frequency %v; temperature 10 should flatten the survivors", freq[1])
		}
	})
	t.Run("top-p before temperature", func(t *testing.T) {
		logits := probsLogits([]float64{0.6, 0.3, 0.1})
		s := newSampler(t, Params{Temperature: 50, TopP: 0.8, Seed: 2}, 3)
		if freq := frequencies(t, s, logits, 20000); freq[2] != 0 {
			t.Errorf("token 2 drawn with frequency %v; top-p must filter before temperature", freq[2])
		}
	})
}

func TestSeedReproducible(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 500)
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	run := func(seed int64) []int32 {
		p := DefaultParams()
		p.Seed = seed
		p.RepeatPenalty = 1.1
		s := newSampler(t, p, len(logits))
		var out []int32
		for range 200 {
			tok := sampleOne(t, s, logits)
			s.Accept(tok)
			out = append(out, tok)
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Errorf("same seed gave different tokens:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same 200 tokens")
	}
}

// TestLargeVocabulary exercises the partial sorts against a full sort.
func TestLargeVocabulary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const vocab = 5000
	logits := make([]float32, vocab)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	order := make([]int, vocab)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return logits[order[a]] > logits[order[b]] })

	t.Run("top-k keeps exactly the k best", func(t *testing.T) {
		s := newSampler(t, Params{Temperature: 1, TopK: 100}, vocab)
		s.cur, s.sorted = s.cur[:vocab], false
		for i, l := range logits {
			s.cur[i] = candidate{id: int32(i), logit: l}
		}
		s.topK(100)
		for i, c := range s.cur {
			if int(c.id) != order[i] {
				t.Fatalf("position %d: token %d, want %d", i, c.id, order[i])
			}
		}
	})
	for _, tc := range []struct {
		name  string
		scale float32
	}{{"peaked (prefix suffices)", 3}, {"flat (needs the full sort)", 0.01}} {
		t.Run("top-p "+tc.name, func(t *testing.T) {
			s := newSampler(t, Params{Temperature: 1, TopP: 0.9}, vocab)
			s.cur, s.sorted = s.cur[:vocab], false
			for i, l := range logits {
				s.cur[i] = candidate{id: int32(i), logit: l * tc.scale}
			}
			s.topP(0.9)
			// Check against a plain computation.
			scaled := make([]float32, vocab)
			for i := range logits {
				scaled[i] = logits[i] * tc.scale
			}
			p := softmax64(scaled, 1)
			var cum float64
			want := 0
			for want < vocab {
				cum += p[order[want]]
				want++
				if cum >= 0.9 {
					break
				}
			}
			if d := len(s.cur) - want; d < -1 || d > 1 { // float32 vs float64 sums
				t.Fatalf("kept %d tokens, want %d", len(s.cur), want)
			}
			for i, c := range s.cur {
				if int(c.id) != order[i] {
					t.Fatalf("position %d: token %d, want %d", i, c.id, order[i])
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	nan := float32(math.NaN())
	bad := []struct {
		name  string
		p     Params
		vocab int
	}{
		{"NaN temperature", Params{Temperature: nan}, 4},
		{"negative top-p", Params{TopP: -0.1}, 4},
		{"min-p above 1", Params{MinP: 1.5}, 4},
		{"negative repeat penalty", Params{RepeatPenalty: -1}, 4},
		{"window below -1", Params{RepeatLastN: -2}, 4},
		{"negative min_keep", Params{MinKeep: -1}, 4},
		{"+Inf bias", Params{LogitBias: map[int32]float32{1: float32(math.Inf(1))}}, 4},
		{"empty vocabulary", Params{}, 0},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.p, tt.vocab); err == nil {
				t.Errorf("New accepted %+v with vocabulary %d", tt.p, tt.vocab)
			}
		})
	}
	t.Run("wrong logits length", func(t *testing.T) {
		s := newSampler(t, Params{}, 4)
		if _, err := s.Sample(make([]float32, 3)); err == nil {
			t.Error("Sample accepted 3 logits for a vocabulary of 4")
		}
	})
}

func TestSampleDoesNotAllocate(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(i%37) * 0.1
	}
	p := DefaultParams()
	p.RepeatPenalty = 1.1
	p.Seed = 1
	s := newSampler(t, p, len(logits))
	allocs := testing.AllocsPerRun(50, func() {
		tok, _ := s.Sample(logits)
		s.Accept(tok)
	})
	if allocs != 0 {
		t.Errorf("Sample+Accept allocated %v times per token", allocs)
	}
}

func BenchmarkSampleDefault(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, 151936)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 2)
	}
	p := DefaultParams()
	p.Seed = 1
	s, _ := New(p, len(logits))
	b.ResetTimer()
	for b.Loop() {
		s.Sample(logits)
	}
}
