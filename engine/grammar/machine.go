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
	// mark[id] == stamp when node id was met in the current expansion,
	// so that each stack is expanded once however many ways lead to it
	// (a long chain of optional items is then linear, not quadratic).
	mark  []uint32
	stamp uint32
	// stored counts the stacks held by all states, for the memory bound.
	stored int

	states   []dfaState
	stateIdx map[string]int32
	// trans caches state s's transition on byte b at s<<8|b: 0 not yet
	// computed, -1 no match, else the next state's id + 1. One flat
	// table, so that a mask walk pays one load a trie node.
	trans []int32
	start int32

	key []byte  // scratch for state keys
	set []int32 // scratch for a state's stacks
}

// stackNode is one stack entry: an element of Grammar.elems that is
// never an elemEnd, and the stack below it.
type stackNode struct{ pos, next int32 }

// dfaState is an interned matcher state.
type dfaState struct {
	stacks []int32 // sorted, distinct, expanded
	// The unfinished UTF-8 character: its value so far, the bytes it
	// still needs and its whole length; need is 0 when there is none.
	// When every way to finish the character is valid UTF-8 and matches
	// the same stacks, length is 0 and members holds those stacks (bit i
	// for stacks[i]) in place of the value: so the hundreds of prefixes
	// of CJK characters in a JSON string are one state, not one each.
	value        rune
	need, length uint8
	members      uint64
	canEnd, done bool
	mask         int32 // the matcher's mask-cache slot + 1; 0 for none
	// loops is the set of bytes that lead from the state back to itself
	// (a JSON string body's ordinary characters), computed on demand.
	loops     [4]uint64
	loopsDone bool
}

// Bounds past which a matcher drops its caches and keeps only its
// current state, so that a long generation's memory stays bounded.
const (
	maxStates = 1 << 14
	maxNodes  = 1 << 20
	maxStored = 1 << 22
)

func newMachine(g *Grammar) *machine {
	m := &machine{g: g}
	m.reset()
	return m
}

func (m *machine) reset() {
	m.nodes = append(m.nodes[:0], stackNode{pos: -1, next: -1})
	m.nodeIdx = make(map[uint64]int32)
	m.mark = append(m.mark[:0], 0)
	m.stored = 0
	m.states = m.states[:0]
	m.trans = m.trans[:0]
	m.stateIdx = make(map[string]int32)
	m.set = m.set[:0]
	m.nextStamp()
	for _, a := range m.g.rules[m.g.root].alts {
		if m.g.elems[a].kind == elemEnd {
			m.expand(0)
		} else {
			m.expand(m.push(a, 0))
		}
	}
	slices.Sort(m.set)
	m.set = slices.Compact(m.set)
	m.start = m.intern(m.set, 0, 0, 0, 0)
}

func (m *machine) push(pos, next int32) int32 {
	k := uint64(uint32(pos))<<32 | uint64(uint32(next))
	if id, ok := m.nodeIdx[k]; ok {
		return id
	}
	id := int32(len(m.nodes))
	m.nodes = append(m.nodes, stackNode{pos, next})
	m.mark = append(m.mark, 0)
	m.nodeIdx[k] = id
	return id
}

// nextStamp starts an expansion, forgetting the stacks met before.
func (m *machine) nextStamp() {
	if m.stamp++; m.stamp == 0 {
		clear(m.mark)
		m.stamp = 1
	}
}

// expand adds to m.set the stacks that stack id stands for: rule
// references replaced by their alternatives until every stack has a
// character class on top or is empty. It ends because Parse refuses left
// recursion; stacks already met under the current stamp are skipped.
func (m *machine) expand(id int32) {
	if m.mark[id] == m.stamp {
		return
	}
	m.mark[id] = m.stamp
	n := m.nodes[id]
	if id == 0 || m.g.elems[n.pos].kind == elemChar {
		m.set = append(m.set, id)
		return
	}
	rest := n.next
	if m.g.elems[n.pos+1].kind != elemEnd {
		rest = m.push(n.pos+1, rest)
	}
	for _, a := range m.g.rules[m.g.elems[n.pos].arg].alts {
		if m.g.elems[a].kind == elemEnd {
			m.expand(rest)
		} else {
			m.expand(m.push(a, rest))
		}
	}
}

// intern returns the id of the state with these stacks (sorted and
// distinct) and unfinished character.
func (m *machine) intern(stacks []int32, value rune, need, length uint8, members uint64) int32 {
	m.key = m.key[:0]
	for _, s := range stacks {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(s))
	}
	m.key = binary.LittleEndian.AppendUint32(m.key, uint32(value))
	m.key = append(m.key, need, length)
	m.key = binary.LittleEndian.AppendUint64(m.key, members)
	if id, ok := m.stateIdx[string(m.key)]; ok {
		return id
	}
	id := int32(len(m.states))
	st := dfaState{stacks: slices.Clone(stacks), value: value, need: need, length: length, members: members}
	if need == 0 && len(stacks) > 0 && stacks[0] == 0 {
		st.canEnd = true
		st.done = len(stacks) == 1
	}
	m.states = append(m.states, st)
	m.stored += len(stacks)
	m.trans = append(m.trans, make([]int32, 256)...)
	m.stateIdx[string(m.key)] = id
	return id
}

// next is the state after byte b from state s, or -1 if b cannot follow.
func (m *machine) next(s int32, b byte) int32 {
	if v := m.trans[int(s)<<8|int(b)]; v != 0 {
		if v < 0 {
			return -1
		}
		return v - 1
	}
	t := m.compute(s, b)
	if t < 0 {
		m.trans[int(s)<<8|int(b)] = -1
	} else {
		m.trans[int(s)<<8|int(b)] = t + 1
	}
	return t
}

// loops returns the bytes that lead from state s back to s.
func (m *machine) loops(s int32) *[4]uint64 {
	if !m.states[s].loopsDone {
		var set [4]uint64
		for b := range 256 {
			if m.next(s, byte(b)) == s {
				set[b>>6] |= 1 << (b & 63)
			}
		}
		m.states[s].loops, m.states[s].loopsDone = set, true
	}
	return &m.states[s].loops
}

// minRune is the least code point each UTF-8 length may encode.
var minRune = [5]rune{0, 0, 0x80, 0x800, 0x10000}

func (m *machine) compute(s int32, b byte) int32 {
	st := m.states[s]
	switch {
	case st.need == 0:
		var value rune
		var length uint8
		switch {
		case b < 0x80:
			return m.advance(st.stacks, rune(b), 0, false)
		case b >= 0xC2 && b <= 0xDF:
			value, length = rune(b&0x1F), 2
		case b >= 0xE0 && b <= 0xEF:
			value, length = rune(b&0x0F), 3
		case b >= 0xF0 && b <= 0xF4:
			value, length = rune(b&0x07), 4
		default:
			return -1
		}
		return m.partial(st.stacks, value, length-1, length)
	case b&0xC0 != 0x80:
		return -1
	case st.length == 0: // the character's outcome is known
		if st.need == 1 {
			return m.advance(st.stacks, 0, st.members, true)
		}
		return m.intern(st.stacks, 0, st.need-1, 0, st.members)
	}
	value, need := st.value<<6|rune(b&0x3F), st.need-1
	if need == 0 {
		if value < minRune[st.length] || value > utf8.MaxRune || value >= 0xD800 && value <= 0xDFFF {
			return -1
		}
		return m.advance(st.stacks, value, 0, false)
	}
	return m.partial(st.stacks, value, need, st.length)
}

// partial is the state partway through a character, or -1 if no stack
// can match any character that begins so.
func (m *machine) partial(stacks []int32, value rune, need, length uint8) int32 {
	shift := 6 * uint(need)
	lo, hi := value<<shift, value<<shift|(1<<shift-1)
	if len(stacks) <= 64 && lo >= minRune[length] && hi <= utf8.MaxRune && (hi < 0xD800 || lo > 0xDFFF) {
		var members uint64
		uniform := true
		for i, s := range stacks {
			if s == 0 {
				continue
			}
			c := &m.g.classes[m.g.elems[m.nodes[s].pos].arg]
			if c.containsAll(lo, hi) {
				members |= 1 << i
			} else if c.overlaps(lo, hi) {
				uniform = false
				break
			}
		}
		if uniform {
			if members == 0 {
				return -1
			}
			return m.intern(stacks, 0, need, 0, members)
		}
	}
	if !m.viable(stacks, value, need, length) {
		return -1
	}
	return m.intern(stacks, value, need, length, 0)
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

// advance is the state after the code point r from stacks, or -1; with
// byMembers, the stacks that match are those in members instead.
func (m *machine) advance(stacks []int32, r rune, members uint64, byMembers bool) int32 {
	m.set = m.set[:0]
	m.nextStamp()
	for i, s := range stacks {
		if s == 0 {
			continue
		}
		n := m.nodes[s]
		if byMembers {
			if members&(1<<i) == 0 {
				continue
			}
		} else if !m.g.classes[m.g.elems[n.pos].arg].contains(r) {
			continue
		}
		next := n.next
		if m.g.elems[n.pos+1].kind != elemEnd {
			next = m.push(n.pos+1, next)
		}
		m.expand(next)
	}
	if len(m.set) == 0 {
		return -1
	}
	slices.Sort(m.set)
	m.set = slices.Compact(m.set)
	return m.intern(m.set, 0, 0, 0, 0)
}

// oversized reports whether the caches have grown past their bounds.
func (m *machine) oversized() bool {
	return len(m.states) > maxStates || len(m.nodes) > maxNodes || m.stored > maxStored
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
	// The stacks get new ids in a new order; members, which names
	// stacks by their place, follows them.
	type moved struct {
		id   int32
		from int
	}
	var set []moved
	for from, path := range paths {
		id := int32(0)
		for i := len(path) - 1; i >= 0; i-- {
			id = m.push(path[i], id)
		}
		set = append(set, moved{id, from})
	}
	slices.SortFunc(set, func(a, b moved) int { return int(a.id - b.id) })
	ids := make([]int32, len(set))
	var members uint64
	for i, mv := range set {
		ids[i] = mv.id
		if st.members&(1<<mv.from) != 0 {
			members |= 1 << i
		}
	}
	return m.intern(ids, st.value, st.need, st.length, members)
}
