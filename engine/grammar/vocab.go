package grammar

import (
	"slices"
	"strings"
	"unsafe"
)

// Vocab is a model's vocabulary arranged for computing token masks: the
// tokens' bytes as a byte trie laid out in depth-first order, so that a
// mask is one forward scan that skips every subtree the grammar rules
// out. Build it once per model; it is immutable and safe for concurrent
// use by any number of matchers.
type Vocab struct {
	n      int      // token ids are 0..n-1
	tokens [][]byte // each token's bytes; empty for control tokens
	eog    []int32  // end-of-generation ids, valid and distinct
	isEOG  []bool

	// The trie without its root, in preorder (see trieNode), then a
	// sentinel node. order lists the token ids in byte order, which is
	// the trie's preorder: node i's tokens are order[nodes[i].tokLo:
	// nodes[i+1].tokLo] and its subtree's are order[nodes[i].tokLo:
	// nodes[nodes[i].end].tokLo].
	nodes    []trieNode
	order    []int32
	maxDepth int
	// below holds, for each node with a large subtree, the set of bytes
	// in the subtree, its own label included: a walk that stays in a
	// state looping on all of them allows the whole subtree at once.
	below []byteSet
}

type byteSet [4]uint64

func (s *byteSet) add(b byte) { s[b>>6] |= 1 << (b & 63) }

// within reports whether every byte of s is in t.
func (s *byteSet) within(t *[4]uint64) bool {
	return s[0]&^t[0]|s[1]&^t[1]|s[2]&^t[2]|s[3]&^t[3] == 0
}

// trieNode is one node of the vocabulary trie: reached by the byte label
// from its parent, depth bytes down (1 for the root's children), its
// subtree ending before node end. tokLo locates its tokens in
// Vocab.order; below indexes Vocab.below, or is -1.
type trieNode struct {
	end   int32
	tokLo int32
	below int32
	depth uint16
	label byte
}

// minBelow is the least subtree, in nodes, whose byte set is kept.
const minBelow = 16

// maxTokenBytes bounds the tokens the trie holds; longer ones (none in
// real vocabularies) are never allowed under a grammar.
const maxTokenBytes = 1 << 12

// NewVocab builds the mask structures for a vocabulary: tokens[i] is the
// exact bytes token i decodes to, nil or empty for control and other
// special tokens, which a grammar never allows. The eog tokens end a
// generation; a matcher allows them only where the grammar can end.
func NewVocab(tokens [][]byte, eog []int32) *Vocab {
	v := &Vocab{n: len(tokens), tokens: make([][]byte, len(tokens)), isEOG: make([]bool, len(tokens))}
	// One arena for every token's bytes: one allocation, not 150k.
	size := 0
	for _, t := range tokens {
		size += len(t)
	}
	arena := make([]byte, 0, size)
	for i, t := range tokens {
		start := len(arena)
		arena = append(arena, t...)
		v.tokens[i] = arena[start:len(arena):len(arena)]
	}
	for _, id := range eog {
		if id >= 0 && int(id) < v.n && !v.isEOG[id] {
			v.isEOG[id] = true
			v.eog = append(v.eog, id)
		}
	}
	// Sort (bytes, id) pairs held together, so that comparisons do not
	// chase pointers through the token table; the strings view the
	// arena, which is never written again.
	type entry struct {
		b  string
		id int32
	}
	entries := make([]entry, 0, len(tokens))
	for i, t := range v.tokens {
		if len(t) > 0 && len(t) <= maxTokenBytes && !v.isEOG[i] {
			entries = append(entries, entry{unsafe.String(unsafe.SliceData(t), len(t)), int32(i)})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := strings.Compare(a.b, b.b); c != 0 {
			return c
		}
		return int(a.id - b.id)
	})
	order := make([]int32, len(entries))
	for k, e := range entries {
		order[k] = e.id
	}
	v.order = order
	var path []int32 // the nodes on the way to the previous token
	var prev []byte
	for k, id := range order {
		t := v.tokens[id]
		common := 0
		for common < len(prev) && common < len(t) && prev[common] == t[common] {
			common++
		}
		for len(path) > common {
			v.nodes[path[len(path)-1]].end = int32(len(v.nodes))
			path = path[:len(path)-1]
		}
		for d := common; d < len(t); d++ {
			path = append(path, int32(len(v.nodes)))
			// The first token through a node is the first of its subtree.
			v.nodes = append(v.nodes, trieNode{label: t[d], depth: uint16(d + 1), tokLo: int32(k), below: -1})
		}
		v.maxDepth = max(v.maxDepth, len(t))
		prev = t
	}
	for _, node := range path {
		v.nodes[node].end = int32(len(v.nodes))
	}
	v.nodes = append(v.nodes, trieNode{tokLo: int32(len(order)), below: -1})
	// Byte sets of the large subtrees, children before parents: a
	// node's set is its label's and its large children's sets, plus the
	// labels of the small subtrees below it.
	for i := len(v.nodes) - 2; i >= 0; i-- {
		n := &v.nodes[i]
		if int(n.end)-i < minBelow {
			continue
		}
		var set byteSet
		set.add(n.label)
		for j := i + 1; j < int(n.end); {
			if c := v.nodes[j]; c.below >= 0 {
				for w := range set {
					set[w] |= v.below[c.below][w]
				}
				j = int(c.end)
			} else {
				set.add(c.label)
				j++
			}
		}
		n.below = int32(len(v.below))
		v.below = append(v.below, set)
	}
	return v
}

// Len is the number of token ids, the length a mask covers.
func (v *Vocab) Len() int { return v.n }

// MaskWords is the length of the []uint64 a mask over v needs.
func (v *Vocab) MaskWords() int { return (v.n + 63) / 64 }
