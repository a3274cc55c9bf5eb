package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// candidate is one token still in the running.
type candidate struct {
	id    int32
	logit float32
	p     float32
}

// before orders candidates by falling logit, then by rising id, so that
// every sort and selection here is deterministic.
func before(a, b candidate) bool {
	if a.logit != b.logit {
		return a.logit > b.logit
	}
	return a.id < b.id
}

// Sampler picks tokens from logits. It remembers the tokens it is told
// about (see [Sampler.Accept]) for the penalties. It allocates only when
// created; it is not safe for concurrent use.
type Sampler struct {
	p     Params
	vocab int
	rng   *rand.Rand

	// counts[id] is how often id occurs in history; history is a ring of
	// the last RepeatLastN tokens (unbounded for -1).
	counts  []int32
	history []int32
	head    int

	cur    []candidate // the candidates of the current draw, cur[:n]
	sorted bool
}

// New returns a sampler for a vocabulary of vocab tokens.
func New(p Params, vocab int) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if vocab <= 0 {
		return nil, fmt.Errorf("sample: vocabulary size %d must be positive", vocab)
	}
	s := &Sampler{p: p, vocab: vocab, cur: make([]candidate, vocab)}
	if !p.penaltiesOff() {
		s.counts = make([]int32, vocab)
		if p.RepeatLastN > 0 {
			s.history = make([]int32, 0, p.RepeatLastN)
		}
	}
	s.seed()
	return s, nil
}

func (s *Sampler) seed() {
	seed := uint64(s.p.Seed)
	if s.p.Seed < 0 {
		seed = rand.Uint64()
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Params returns the sampler's settings.
func (s *Sampler) Params() Params { return s.p }

// Reset forgets the history and reseeds the generator.
func (s *Sampler) Reset() {
	clear(s.counts)
	s.history = s.history[:0]
	s.head = 0
	s.seed()
}

// Accept records a token of the sequence (prompt tokens included, as
// llama-server does) for the penalties.
func (s *Sampler) Accept(tok int32) {
	if s.counts == nil || tok < 0 || int(tok) >= s.vocab {
		return
	}
	s.counts[tok]++
	n := s.p.RepeatLastN
	switch {
	case n < 0:
		// whole context: counts alone are enough
	case len(s.history) < n:
		s.history = append(s.history, tok)
	default:
		old := s.history[s.head]
		s.counts[old]--
		s.history[s.head] = tok
		s.head = (s.head + 1) % n
	}
}

// Sample returns the next token for logits (one per vocabulary entry).
// It does not record the token: call [Sampler.Accept] with it.
func (s *Sampler) Sample(logits []float32) (int32, error) {
	if len(logits) != s.vocab {
		return 0, fmt.Errorf("sample: got %d logits for a vocabulary of %d", len(logits), s.vocab)
	}
	cur := s.cur[:s.vocab]
	for i, l := range logits {
		cur[i] = candidate{id: int32(i), logit: l}
	}
	s.cur, s.sorted = cur, false
	s.applyBias()
	s.applyPenalties()

	if s.p.Greedy() {
		return s.argmax(), nil
	}
	s.topK(s.p.TopK)
	s.topP(s.p.TopP)
	s.minP(s.p.MinP)
	s.temperature(s.p.Temperature)
	return s.draw(), nil
}

func (s *Sampler) applyBias() {
	for tok, b := range s.p.LogitBias {
		if tok >= 0 && int(tok) < len(s.cur) {
			s.cur[tok].logit += b
		}
	}
}

// applyPenalties runs while s.cur is still indexed by token id.
func (s *Sampler) applyPenalties() {
	if s.counts == nil {
		return
	}
	rep := s.p.RepeatPenalty
	if rep == 0 {
		rep = 1
	}
	for i := range s.cur {
		count := s.counts[i]
		if count == 0 {
			continue
		}
		c := &s.cur[i]
		// Dividing a negative logit would make the token more likely, so
		// negative logits are multiplied instead.
		if c.logit <= 0 {
			c.logit *= rep
		} else {
			c.logit /= rep
		}
		c.logit -= float32(count)*s.p.FrequencyPenalty + s.p.PresencePenalty
	}
}

// argmax is the greedy choice: the highest logit, the lowest id on ties.
func (s *Sampler) argmax() int32 {
	best := s.cur[0]
	for _, c := range s.cur[1:] {
		if before(c, best) {
			best = c
		}
	}
	return best.id
}

// partialSort moves the k best candidates, in order, to the front of
// s.cur; the order of the rest is unspecified.
func (s *Sampler) partialSort(k int) {
	cur := s.cur
	if k >= len(cur) {
		slices.SortFunc(cur, cmp)
		s.sorted = true
		return
	}
	// A min-heap of the best k seen so far, on cur[:k]: worst at the root.
	h := cur[:k]
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < len(cur); i++ {
		if before(cur[i], h[0]) {
			h[0], cur[i] = cur[i], h[0]
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, cmp)
}

func cmp(a, b candidate) int {
	switch {
	case before(a, b):
		return -1
	case before(b, a):
		return 1
	}
	return 0
}

// siftDown restores the heap property of h (worst candidate at the root)
// below i.
func siftDown(h []candidate, i int) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && before(h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && before(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

func (s *Sampler) topK(k int) {
	if k <= 0 {
		return
	}
	k = min(k, len(s.cur))
	if !s.sorted {
		s.partialSort(k)
	}
	s.cur = s.cur[:k]
	s.sorted = true
}

// softmax sets the probabilities of the candidates, in float32 as
// llama.cpp does.
func (s *Sampler) softmax() {
	maxL := float32(math.Inf(-1))
	for _, c := range s.cur {
		maxL = max(maxL, c.logit)
	}
	var sum float32
	for i := range s.cur {
		p := exp32(s.cur[i].logit - maxL)
		s.cur[i].p = p
		sum += p
	}
	for i := range s.cur {
		s.cur[i].p /= sum
	}
}

func (s *Sampler) topP(p float32) {
	if p <= 0 || p >= 1 || len(s.cur) <= 1 {
		return
	}
	s.softmax()
	if !s.sorted {
		// Most of the mass usually sits in a few tokens: sort a prefix
		// first and everything only if that prefix is not enough.
		k := len(s.cur)
		if k > 1024 {
			k = 256
		}
		s.partialSort(k)
		if !s.prefixReaches(k, p) {
			s.partialSort(len(s.cur))
		}
		s.sorted = true
	}
	var cum float32
	last := len(s.cur)
	for i, c := range s.cur {
		cum += c.p
		if cum >= p && i+1 >= s.p.MinKeep {
			last = i + 1
			break
		}
	}
	s.cur = s.cur[:last]
}

func (s *Sampler) prefixReaches(k int, p float32) bool {
	var cum float32
	for _, c := range s.cur[:k] {
		cum += c.p
		if cum >= p {
			return true
		}
	}
	return false
}

func (s *Sampler) minP(p float32) {
	if p <= 0 || len(s.cur) == 0 {
		return
	}
	logP := float32(math.Log(float64(p)))
	if !s.sorted {
		maxL := float32(math.Inf(-1))
		for _, c := range s.cur {
			maxL = max(maxL, c.logit)
		}
		floor := maxL + logP
		n := 0
		for _, c := range s.cur {
			if c.logit >= floor {
				n++
			}
		}
		if n > 0 && n >= s.p.MinKeep {
			kept := s.cur[:0]
			for _, c := range s.cur {
				if c.logit >= floor {
					kept = append(kept, c)
				}
			}
			s.cur = kept
			return
		}
		s.partialSort(len(s.cur))
		s.sorted = true
	}
	floor := s.cur[0].logit + logP
	i := 1
	for ; i < len(s.cur); i++ {
		if s.cur[i].logit < floor && i >= s.p.MinKeep {
			break
		}
	}
	s.cur = s.cur[:i]
}

func (s *Sampler) temperature(t float32) {
	for i := range s.cur {
		s.cur[i].logit /= t
	}
}

// draw picks a candidate with probability softmax(logit), the way
// llama.cpp's dist sampler does: float32 weights, float64 running sum.
func (s *Sampler) draw() int32 {
	r := s.rng.Float64()
	if len(s.cur) == 1 {
		return s.cur[0].id
	}
	maxL := float32(math.Inf(-1))
	for _, c := range s.cur {
		maxL = max(maxL, c.logit)
	}
	var sum float64
	for i := range s.cur {
		p := exp32(s.cur[i].logit - maxL)
		s.cur[i].p = p
		sum += float64(p)
	}
	target := sum * r
	var run float64
	for _, c := range s.cur {
		if c.p == 0 {
			continue
		}
		run += float64(c.p)
		if run >= target {
			return c.id
		}
	}
	// Rounding can leave run a hair below target: take the last live one.
	for i := len(s.cur) - 1; i >= 0; i-- {
		if s.cur[i].p > 0 {
			return s.cur[i].id
		}
	}
	return s.cur[0].id
}

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }
