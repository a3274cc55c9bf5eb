package grammar

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// machine runs a grammar over bytes. Its states are those of llama.cpp's
// grammar matcher: a set of parse stacks (each the grammar positions
// still to match, innermost first) plus an unfinished UTF-8 character.
// Stacks are persistent lists whose nodes are interned, so equal stacks
// are one id and share their tails; states are interned too, and each
// state's transitions are cached per byte as they are first needed. So
// the machine is a pushdown matcher that builds, lazily, the part of its
// DFA that the text or the vocabulary walks: JSON's string bodies,
// numbers and whitespace come back to the same state at every character
// and cost one table lookup a byte after their first visit.
type machine struct {
	g *Grammar

	nodes   []stackNode // id 0 is the empty stack
	nodeIdx map[uint64]int32
	// exp[id] locates, in expPool, the stacks that node id expands to:
	// rule references replaced by their alternatives until every stack
	// has a character class on top or is empty. -1: not yet computed.
	exp     []span
	expPool []int32

	states   []dfaState
	stateIdx map[string]int32
	start    int32

	key []byte  // scratch for state keys
	set []int32 // scratch for a state's stacks
}

type span struct{ off, n int32 }

// stackNode is one stack entry: an element of Grammar.elems that is
// never an elemEnd, and the stack below it.
type stackNode struct{ pos, next int32 }

// dfaState is an interned matcher state.
type dfaState struct {
	stacks []int32 // sorted, distinct, expanded
	// The unfinished UTF-8 character: its value so far, the bytes it
	// still needs and its whole length; need is 0 when there is none.
	value        rune
	need, length uint8
	canEnd, done bool
	// next caches the transition on each byte: 0 not yet computed, -1
	// no match, else the next state's id + 1. Allocated on first use,
	// as most states are reached but never left.
	next *[256]int32
	mask int32 // the matcher's mask-cache slot + 1; 0 for none
}

// Bounds past which a matcher drops its caches and keeps only its
// current state, so that a long generation's memory stays bounded.
const (
	maxStates = 1 << 14
	maxNodes  = 1 << 20
)

func newMachine(g *Grammar) *machine {
	m := &machine{g: g}
	m.reset()
	return m
}

func (m *machine) reset() {
	m.nodes = append(m.nodes[:0], stackNode{pos: -1, next: -1})
	m.nodeIdx = make(map[uint64]int32)
	m.exp = append(m.exp[:0], span{-1, 0})
	m.expPool = m.expPool[:0]
	m.states = m.states[:0]
	m.stateIdx = make(map[string]int32)
	set := []int32(nil)
	for _, a := range m.g.rules[m.g.root].alts {
		if m.g.elems[a].kind == elemEnd {
			set = append(set, 0)
		} else {
			set = append(set, m.expansion(m.push(a, 0))...)
		}
	}
	m.start = m.intern(set, 0, 0, 0)
}

func (m *machine) push(pos, next int32) int32 {
	k := uint64(uint32(pos))<<32 | uint64(uint32(next))
	if id, ok := m.nodeIdx[k]; ok {
		return id
	}
	id := int32(len(m.nodes))
	m.nodes = append(m.nodes, stackNode{pos, next})
	m.exp = append(m.exp, span{-1, 0})
	m.nodeIdx[k] = id
	return id
}

// expansion is the expanded form of stack id (see machine.exp). It is
// finite because Parse refuses left recursion.
func (m *machine) expansion(id int32) []int32 {
	if s := m.exp[id]; s.off >= 0 {
		return m.expPool[s.off : s.off+s.n]
	}
	var out []int32
	n := m.nodes[id]
	switch {
	case id == 0 || m.g.elems[n.pos].kind == elemChar:
		out = []int32{id}
	default:
		rest := n.next
		if m.g.elems[n.pos+1].kind != elemEnd {
			rest = m.push(n.pos+1, rest)
		}
		for _, a := range m.g.rules[m.g.elems[n.pos].arg].alts {
			if m.g.elems[a].kind == elemEnd {
				out = append(out, m.expansion(rest)...)
			} else {
				out = append(out, m.expansion(m.push(a, rest))...)
			}
		}
		slices.Sort(out)
		out = slices.Compact(out)
	}
	m.exp[id] = span{int32(len(m.expPool)), int32(len(out))}
	m.expPool = append(m.expPool, out...)
	return out
}

// intern returns the id of the state with these stacks (sorted and
// distinct) and unfinished character.
func (m *machine) intern(stacks []int32, value rune, need, length uint8) int32 {
	m.key = m.key[:0]
	for _, s := range stacks {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(s))
	}
	m.key = binary.LittleEndian.AppendUint32(m.key, uint32(value))
	m.key = append(m.key, need, length)
	if id, ok := m.stateIdx[string(m.key)]; ok {
		return id
	}
	id := int32(len(m.states))
	st := dfaState{stacks: slices.Clone(stacks), value: value, need: need, length: length}
	if need == 0 && len(stacks) > 0 && stacks[0] == 0 {
		st.canEnd = true
		st.done = len(stacks) == 1
	}
	m.states = append(m.states, st)
	m.stateIdx[string(m.key)] = id
	return id
}

// next is the state after byte b from state s, or -1 if b cannot follow.
func (m *machine) next(s int32, b byte) int32 {
	if t := m.states[s].next; t != nil {
		switch v := t[b]; {
		case v > 0:
			return v - 1
		case v < 0:
			return -1
		}
	}
	t := m.compute(s, b)
	st := &m.states[s]
	if st.next == nil {
		st.next = new([256]int32)
	}
	if t < 0 {
		st.next[b] = -1
	} else {
		st.next[b] = t + 1
	}
	return t
}

// minRune is the least code point each UTF-8 length may encode.
var minRune = [5]rune{0, 0, 0x80, 0x800, 0x10000}

func (m *machine) compute(s int32, b byte) int32 {
	st := m.states[s]
	if st.need == 0 {
		var value rune
		var length uint8
		switch {
		case b < 0x80:
			return m.advance(st.stacks, rune(b))
		case b >= 0xC2 && b <= 0xDF:
			value, length = rune(b&0x1F), 2
		case b >= 0xE0 && b <= 0xEF:
			value, length = rune(b&0x0F), 3
		case b >= 0xF0 && b <= 0xF4:
			value, length = rune(b&0x07), 4
		default:
			return -1
		}
		if !m.viable(st.stacks, value, length-1, length) {
			return -1
		}
		return m.intern(st.stacks, value, length-1, length)
	}
	if b&0xC0 != 0x80 {
		return -1
	}
	value, need := st.value<<6|rune(b&0x3F), st.need-1
	if need == 0 {
		if value < minRune[st.length] || value > utf8.MaxRune || value >= 0xD800 && value <= 0xDFFF {
			return -1
		}
		return m.advance(st.stacks, value)
	}
	if !m.viable(st.stacks, value, need, st.length) {
		return -1
	}
	return m.intern(st.stacks, value, need, st.length)
}

// viable reports whether some stack can match a character that begins
// with the bytes read so far, so that a token ending in the middle of a
// character is allowed only if the character can still be completed.
func (m *machine) viable(stacks []int32, value rune, need, length uint8) bool {
	shift := 6 * uint(need)
	lo := max(value<<shift, minRune[length])
	hi := min(value<<shift|(1<<shift-1), utf8.MaxRune)
	if lo > hi {
		return false
	}
	for _, s := range stacks {
		if s == 0 {
			continue
		}
		c := &m.g.classes[m.g.elems[m.nodes[s].pos].arg]
		// Surrogates are never valid UTF-8.
		if lo < 0xD800 && c.overlaps(lo, min(hi, 0xD7FF)) || hi > 0xDFFF && c.overlaps(max(lo, 0xE000), hi) {
			return true
		}
	}
	return false
}

// advance is the state after the code point r from stacks, or -1.
func (m *machine) advance(stacks []int32, r rune) int32 {
	m.set = m.set[:0]
	for _, s := range stacks {
		if s == 0 {
			continue
		}
		n := m.nodes[s]
		if !m.g.classes[m.g.elems[n.pos].arg].contains(r) {
			continue
		}
		next := n.next
		if m.g.elems[n.pos+1].kind != elemEnd {
			next = m.push(n.pos+1, next)
		}
		m.set = append(m.set, m.expansion(next)...)
	}
	if len(m.set) == 0 {
		return -1
	}
	slices.Sort(m.set)
	m.set = slices.Compact(m.set)
	return m.intern(m.set, 0, 0, 0)
}

// oversized reports whether the caches have grown past their bounds.
func (m *machine) oversized() bool {
	return len(m.states) > maxStates || len(m.nodes) > maxNodes
}

// rebase drops every cache, keeping only state s, and returns its new id.
func (m *machine) rebase(s int32) int32 {
	st := m.states[s]
	var paths [][]int32
	for _, id := range st.stacks {
		var path []int32
		for ; id != 0; id = m.nodes[id].next {
			path = append(path, m.nodes[id].pos)
		}
		paths = append(paths, path)
	}
	m.reset()
	set := []int32(nil)
	for _, path := range paths {
		id := int32(0)
		for i := len(path) - 1; i >= 0; i-- {
			id = m.push(path[i], id)
		}
		set = append(set, id)
	}
	slices.Sort(set)
	set = slices.Compact(set)
	return m.intern(set, st.value, st.need, st.length)
}
