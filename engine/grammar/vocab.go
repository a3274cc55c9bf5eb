package grammar

import (
	"bytes"
	"slices"
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

	// The trie without its root, in preorder: node i is reached by the
	// byte label[i] from its parent, sits depth[i] bytes down (1 for the
	// root's children), and its subtree ends before node end[i]. tok[i]
	// is the first token whose bytes end at node i, or -1; sameBytes
	// chains tokens with equal bytes.
	label     []byte
	depth     []uint16
	end       []int32
	tok       []int32
	sameBytes []int32
	maxDepth  int
}

// maxTokenBytes bounds the tokens the trie holds; longer ones (none in
// real vocabularies) are never allowed under a grammar.
const maxTokenBytes = 1 << 12

// NewVocab builds the mask structures for a vocabulary: tokens[i] is the
// exact bytes token i decodes to, nil or empty for control and other
// special tokens, which a grammar never allows. The eog tokens end a
// generation; a matcher allows them only where the grammar can end.
func NewVocab(tokens [][]byte, eog []int32) *Vocab {
	v := &Vocab{n: len(tokens), tokens: make([][]byte, len(tokens)), isEOG: make([]bool, len(tokens))}
	for i, t := range tokens {
		v.tokens[i] = bytes.Clone(t)
	}
	for _, id := range eog {
		if id >= 0 && int(id) < v.n && !v.isEOG[id] {
			v.isEOG[id] = true
			v.eog = append(v.eog, id)
		}
	}
	order := make([]int32, 0, len(tokens))
	for i, t := range v.tokens {
		if len(t) > 0 && len(t) <= maxTokenBytes && !v.isEOG[i] {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := bytes.Compare(v.tokens[a], v.tokens[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	v.sameBytes = make([]int32, len(tokens))
	for i := range v.sameBytes {
		v.sameBytes[i] = -1
	}
	var path []int32 // the nodes on the way to the previous token
	var prev []byte
	for _, id := range order {
		t := v.tokens[id]
		common := 0
		for common < len(prev) && common < len(t) && prev[common] == t[common] {
			common++
		}
		for len(path) > common {
			v.end[path[len(path)-1]] = int32(len(v.label))
			path = path[:len(path)-1]
		}
		for d := common; d < len(t); d++ {
			path = append(path, int32(len(v.label)))
			v.label = append(v.label, t[d])
			v.depth = append(v.depth, uint16(d+1))
			v.end = append(v.end, 0)
			v.tok = append(v.tok, -1)
		}
		node := path[len(t)-1]
		if first := v.tok[node]; first < 0 {
			v.tok[node] = id
		} else {
			// Equal bytes sort by id, so the chain stays in order.
			last := first
			for v.sameBytes[last] >= 0 {
				last = v.sameBytes[last]
			}
			v.sameBytes[last] = id
		}
		v.maxDepth = max(v.maxDepth, len(t))
		prev = t
	}
	for _, node := range path {
		v.end[node] = int32(len(v.label))
	}
	return v
}

// Len is the number of token ids, the length a mask covers.
func (v *Vocab) Len() int { return v.n }

// MaskWords is the length of the []uint64 a mask over v needs.
func (v *Vocab) MaskWords() int { return (v.n + 63) / 64 }
