package grammar

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrTokenRejected is wrapped by Accept's error for a token the grammar
// does not allow at that point.
var ErrTokenRejected = errors.New("grammar: token not allowed")

// maskSlots bounds the masks a matcher keeps, one per matcher state:
// 64 masks of Qwen2.5's 152k-token vocabulary take 1.2 MiB.
const maskSlots = 64

// Matcher constrains one generation to a grammar, token by token: it
// says which tokens may come next and follows the tokens chosen. It
// belongs to one generation and is not safe for concurrent use.
type Matcher struct {
	g     *Grammar
	v     *Vocab
	m     *machine
	state int32
	ended bool // an end-of-generation token was accepted

	walk      []int32 // the state at each trie depth, during a mask walk
	masks     [][]uint64
	allowed   []int    // tokens each mask allows
	maskOwner []int32  // the state each slot's mask belongs to, or -1
	lastUse   []uint64 // when each slot's mask was last used, for LRU
	clock     uint64
	walks     int      // masks computed, for tests
	none      []uint64 // the mask after the end of generation
}

// NewMatcher starts matching g over v's tokens from the beginning.
func (g *Grammar) NewMatcher(v *Vocab) *Matcher {
	mt := &Matcher{
		g: g, v: v, m: newMachine(g),
		walk:      make([]int32, v.maxDepth+1),
		masks:     make([][]uint64, maskSlots),
		allowed:   make([]int, maskSlots),
		maskOwner: make([]int32, maskSlots),
		lastUse:   make([]uint64, maskSlots),
	}
	for i := range mt.maskOwner {
		mt.maskOwner[i] = -1
	}
	mt.state = mt.m.start
	return mt
}

// Reset returns the matcher to the beginning of the grammar, keeping
// what it has cached.
func (mt *Matcher) Reset() {
	mt.ended = false
	if mt.m.oversized() {
		mt.dropCaches(mt.m.start)
	}
	mt.state = mt.m.start
}

// CanEnd reports whether the text so far is a whole sentence of the
// grammar, so that the generation may end here.
func (mt *Matcher) CanEnd() bool { return mt.m.states[mt.state].canEnd }

// Done reports whether the generation can only end: the grammar has
// nothing more to match, or an end-of-generation token was accepted.
func (mt *Matcher) Done() bool { return mt.ended || mt.m.states[mt.state].done }

// Allowed sets bit id%64 of mask[id/64] for every token id allowed next
// and clears the others; mask needs Vocab.MaskWords words (extra words
// are cleared, missing ones left out).
func (mt *Matcher) Allowed(mask []uint64) {
	src, _ := mt.mask()
	n := copy(mask, src)
	clear(mask[n:])
}

// Apply sets the logits of the tokens not allowed next to -Inf and
// returns how many are allowed; ids past the vocabulary are never
// allowed. With 0 allowed, no token can continue the grammar.
func (mt *Matcher) Apply(logits []float32) int {
	mask, allowed := mt.mask()
	inf := float32(math.Inf(-1))
	for w, word := range mask {
		base := w * 64
		if base >= len(logits) {
			break
		}
		switch word {
		case math.MaxUint64:
		case 0: // the common case where few tokens are allowed
			seg := logits[base:min(base+64, len(logits))]
			for i := range seg {
				seg[i] = inf
			}
		default:
			for out := ^word; out != 0; out &= out - 1 {
				if i := base + bits.TrailingZeros64(out); i < len(logits) {
					logits[i] = inf
				}
			}
		}
	}
	for i := len(mask) * 64; i < len(logits); i++ {
		logits[i] = inf
	}
	return allowed
}

// Accept advances past token id, which must be allowed: its bytes must
// continue the grammar, or it must end the generation where the grammar
// can end.
func (mt *Matcher) Accept(id int32) error {
	if mt.ended {
		return fmt.Errorf("%w: token %d after the end of generation", ErrTokenRejected, id)
	}
	if id < 0 || int(id) >= mt.v.n {
		return fmt.Errorf("%w: token %d is outside the vocabulary", ErrTokenRejected, id)
	}
	if mt.v.isEOG[id] {
		if !mt.CanEnd() {
			return fmt.Errorf("%w: end-of-generation token %d before the grammar is complete", ErrTokenRejected, id)
		}
		mt.ended = true
		return nil
	}
	t := mt.v.tokens[id]
	if len(t) == 0 || len(t) > maxTokenBytes {
		return fmt.Errorf("%w: special token %d", ErrTokenRejected, id)
	}
	if mt.m.oversized() {
		mt.dropCaches(mt.state)
	}
	s := mt.state
	for _, b := range t {
		if s = mt.m.next(s, b); s < 0 {
			return fmt.Errorf("%w: token %d %q", ErrTokenRejected, id, t)
		}
	}
	mt.state = s
	return nil
}

// AcceptBytes advances past text that was generated while the matcher
// was not applied (the rest of a token that completed a lazy grammar's
// trigger); it fails, and leaves the matcher as it was, if the grammar
// does not continue with it.
func (mt *Matcher) AcceptBytes(text []byte) error {
	if mt.ended {
		return fmt.Errorf("%w: text after the end of generation", ErrTokenRejected)
	}
	if mt.m.oversized() {
		mt.dropCaches(mt.state)
	}
	s := mt.state
	for _, b := range text {
		if s = mt.m.next(s, b); s < 0 {
			return fmt.Errorf("%w: %q", ErrTokenRejected, text)
		}
	}
	mt.state = s
	return nil
}

// dropCaches empties the machine and the masks, keeping state s as the
// current state.
func (mt *Matcher) dropCaches(s int32) {
	mt.state = mt.m.rebase(s)
	for i := range mt.maskOwner {
		mt.maskOwner[i] = -1
	}
}

// mask is the current state's mask and how many tokens it allows,
// computed on the first visit to the state and cached after.
func (mt *Matcher) mask() ([]uint64, int) {
	if mt.ended {
		if mt.none == nil {
			mt.none = make([]uint64, mt.v.MaskWords())
		}
		return mt.none, 0
	}
	if mt.m.oversized() {
		mt.dropCaches(mt.state)
	}
	mt.clock++
	if slot := mt.m.states[mt.state].mask - 1; slot >= 0 {
		mt.lastUse[slot] = mt.clock
		return mt.masks[slot], mt.allowed[slot]
	}
	mt.walks++
	slot := mt.claimSlot(mt.state)
	mask := mt.masks[slot]
	clear(mask)
	mt.allowed[slot] = mt.fill(mask)
	mt.m.states[mt.state].mask = int32(slot) + 1
	return mask, mt.allowed[slot]
}

// claimSlot gives owner the least recently used slot: the masks of the
// states a document keeps coming back to (a string body, whitespace)
// stay, however many one-off states pass by.
func (mt *Matcher) claimSlot(owner int32) int {
	slot := 0
	for i, t := range mt.lastUse {
		if t < mt.lastUse[slot] {
			slot = i
		}
	}
	mt.lastUse[slot] = mt.clock
	if old := mt.maskOwner[slot]; old >= 0 {
		mt.m.states[old].mask = 0
	}
	mt.maskOwner[slot] = owner
	if mt.masks[slot] == nil {
		mt.masks[slot] = make([]uint64, mt.v.MaskWords())
	}
	return slot
}

// fill sets the bits of the tokens allowed from the current state: one
// preorder scan of the vocabulary trie that carries the matcher state of
// each depth and skips the subtree of any byte the grammar refuses. A
// large subtree whose bytes all loop on the state it is entered from (a
// run of ordinary characters inside a JSON string) is allowed whole,
// without stepping the machine through it.
func (mt *Matcher) fill(mask []uint64) int {
	v, m, walk := mt.v, mt.m, mt.walk
	walk[0] = mt.state
	allowed := 0
	nodes, order := v.nodes, v.order
	trans := m.trans
	last := len(nodes) - 1 // the sentinel
	for i := 0; i < last; {
		n := &nodes[i]
		from := walk[n.depth-1]
		to := trans[int(from)<<8|int(n.label)]
		switch {
		case to < 0:
			i = int(n.end)
			continue
		case to == 0:
			if to = m.next(from, n.label); to < 0 {
				i = int(n.end)
				continue
			}
			trans = m.trans // the table grows with the states
		default:
			to--
		}
		if n.below >= 0 && to == from {
			loops := m.loops(from)
			trans = m.trans
			if v.below[n.below].within(loops) {
				ids := order[n.tokLo:nodes[n.end].tokLo]
				for _, id := range ids {
					mask[id>>6] |= 1 << (id & 63)
				}
				allowed += len(ids)
				i = int(n.end)
				continue
			}
		}
		walk[n.depth] = to
		ids := order[n.tokLo:nodes[i+1].tokLo]
		for _, id := range ids {
			mask[id>>6] |= 1 << (id & 63)
		}
		allowed += len(ids)
		i++
	}
	if m.states[mt.state].canEnd {
		for _, id := range v.eog {
			mask[id>>6] |= 1 << (id & 63)
			allowed++
		}
	}
	return allowed
}
