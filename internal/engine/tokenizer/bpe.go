package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Byte-level BPE over one pre-tokenized word, as llama.cpp does it: the word
// (already mapped through GPT-2's byte-to-unicode table) starts as one symbol
// per byte; the adjacent pair with the lowest merge rank is merged first, the
// leftmost pair winning ties, until no adjacent pair has a rank. A min-heap of
// candidate pairs with lazy invalidation keeps this O(n log n) per word.

type symbol struct {
	start, end int32 // byte range in the word; start == end once merged away
	prev, next int32
}

type bpeBigram struct {
	rank        int32
	left, right int32
	size        int32 // byte length of the merged text when the pair was queued
	result      int32 // interned id of the merged text
}

// before orders the BPE queue: lowest rank first, leftmost on ties.
func (b bpeBigram) before(o bpeBigram) bool {
	return b.rank < o.rank || (b.rank == o.rank && b.left < o.left)
}

// encodeScratch holds the buffers one Encode call reuses across words.
type encodeScratch struct {
	cpts    []rune
	flags   []cptFlags
	spans   [2][]span
	bytes   []byte
	enc     []byte
	symbols []symbol
	syms    []int32 // interned text of each BPE symbol, -1 when no merge can involve it
	bpeQ    queue[bpeBigram]
	spmQ    queue[spmBigram]

	limit int // the caller's token limit; < 0 for none
}

var scratchPool = sync.Pool{New: func() any { return new(encodeScratch) }}

// maxPieceBytes bounds the text one merge run works on. A longer word (or
// SentencePiece fragment) is cut, at a space where one is near the end,
// and its parts are merged one after another: the merge scratch costs
// about 60 bytes per byte of text, and one word of megabytes would
// otherwise take gigabytes. llama.cpp merges such a word whole; the
// tokens differ only next to a cut, and only in text no prose contains
// (a single word of over 64 KiB).
const maxPieceBytes = 64 << 10

// maxPooledBytes is the most scratch kept for reuse; more, left by a long
// text, goes back to the garbage collector.
const maxPooledBytes = 4 << 20

// over reports whether out is past the caller's limit.
func (s *encodeScratch) over(out []int32) bool { return s.limit >= 0 && len(out) > s.limit }

// release returns s to the pool unless it grew past maxPooledBytes.
func (s *encodeScratch) release() {
	size := 4*cap(s.cpts) + 2*cap(s.flags) + 16*(cap(s.spans[0])+cap(s.spans[1])) + cap(s.bytes) + cap(s.enc) +
		16*cap(s.symbols) + 4*cap(s.syms) + 20*cap(s.bpeQ) + 16*cap(s.spmQ)
	if size > maxPooledBytes {
		return
	}
	scratchPool.Put(s)
}

// cutPiece returns the length of the first piece of text no longer than
// maxPieceBytes: before the last lone space in its second half if there
// is one (both BPE and SentencePiece words start with their space, and
// a run of spaces may be one token), else at the last UTF-8 sequence
// boundary.
func cutPiece[T string | []byte](text T) int {
	if len(text) <= maxPieceBytes {
		return len(text)
	}
	n := maxPieceBytes
	for i := n; i > n/2; i-- {
		if text[i] == ' ' && text[i-1] != ' ' && (i+1 == len(text) || text[i+1] != ' ') {
			return i
		}
	}
	for n > 1 && text[n]&0xC0 == 0x80 {
		n--
	}
	return n
}

// bpeTables is the merge table in interned form: every string that appears
// as a token or on either side of a merge gets a small integer, so merging
// compares integers instead of hashing strings.
type bpeTables struct {
	ranks   map[uint64]bpeMerge // (left id << 32 | right id) -> merge
	symTok  []int32             // interned id -> token id, -1 when the text is not a token
	byteSym [256]int32          // interned id of each byte's GPT-2 character
	// fallback[b] are the ids llama.cpp finds when it looks up each byte of
	// the GPT-2 character of b as a one-byte token.
	fallback [256][]int32
	// closed reports that every symbol a merge run can leave is a token:
	// each byte's GPT-2 character is one, and so is every merge's result.
	// The fallback above, which can drop bytes, is then never used.
	closed bool
}

type bpeMerge struct {
	rank   int32
	result int32 // interned id of left+right, -1 when that text is nowhere
}

func pairID(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

func (t *Tokenizer) buildBPETables(merges []string) {
	// Token ids double as interned ids; strings that only occur in merges
	// are numbered after the last token.
	n := int32(len(t.tokens))
	extra := map[string]int32{}
	lookup := func(s string) (int32, bool) {
		if id, ok := t.tokenToID[s]; ok {
			return id, true
		}
		id, ok := extra[s]
		return id, ok
	}
	get := func(s string) int32 {
		if id, ok := lookup(s); ok {
			return id
		}
		id := n + int32(len(extra))
		extra[s] = id
		return id
	}
	type pair struct {
		l, r     string
		lID, rID int32
	}
	pairs := make([]pair, len(merges))
	for i, m := range merges {
		// llama.cpp splits at the first space after the first byte; a merge
		// without one becomes the pair ("", "").
		p := &pairs[i]
		if len(m) > 1 {
			if sp := strings.IndexByte(m[1:], ' '); sp >= 0 {
				p.l, p.r = m[:sp+1], m[sp+2:]
			}
		}
		p.lID, p.rID = get(p.l), get(p.r)
	}
	// Results are looked up once every string is numbered, so a merge whose
	// result only appears later on a merge's left or right side finds it.
	t.bpe.ranks = make(map[uint64]bpeMerge, len(merges))
	t.bpe.closed = true
	var buf []byte
	for i, p := range pairs {
		k := pairID(p.lID, p.rID)
		if _, dup := t.bpe.ranks[k]; dup {
			continue // llama.cpp keeps the first (lowest) rank
		}
		buf = append(append(buf[:0], p.l...), p.r...)
		res, ok := lookup(string(buf))
		if !ok {
			res = -1
		}
		if _, tok := t.tokenToID[string(buf)]; !tok && p.l != "" && p.r != "" {
			t.bpe.closed = false
		}
		t.bpe.ranks[k] = bpeMerge{rank: int32(i), result: res}
	}
	for b := range 256 {
		if _, ok := t.tokenToID[byteToText[b]]; !ok {
			t.bpe.closed = false
		}
		t.bpe.byteSym[b] = get(byteToText[b])
		enc := byteToText[b]
		for j := 0; j < len(enc); j++ {
			if id, ok := t.tokenToID[enc[j:j+1]]; ok {
				t.bpe.fallback[b] = append(t.bpe.fallback[b], id)
			}
		}
	}
	t.bpe.symTok = make([]int32, int(n)+len(extra))
	for i := range t.bpe.symTok {
		t.bpe.symTok[i] = NoToken
		if i < int(n) {
			t.bpe.symTok[i] = int32(i)
		}
	}
}

func (t *Tokenizer) addBPEBigram(s *encodeScratch, left, right int32) {
	if left < 0 || right < 0 {
		return
	}
	m, ok := t.bpe.ranks[pairID(s.syms[left], s.syms[right])]
	if !ok {
		return
	}
	s.bpeQ.push(bpeBigram{rank: m.rank, left: left, right: right, size: s.symbols[right].end - s.symbols[left].start, result: m.result})
}

// bpeWord appends the ids of one word, given as its UTF-8 bytes; each byte
// starts as one symbol (its GPT-2 character).
func (t *Tokenizer) bpeWord(s *encodeScratch, word []byte, out []int32) []int32 {
	if t.pre.ignoreMerges {
		s.enc = s.enc[:0]
		for _, b := range word {
			s.enc = append(s.enc, byteToText[b]...)
		}
		if id, ok := t.tokenToID[string(s.enc)]; ok {
			return append(out, id)
		}
	}
	if len(word) == 0 {
		return out
	}
	s.symbols = s.symbols[:0]
	s.syms = s.syms[:0]
	for i, b := range word {
		s.symbols = append(s.symbols, symbol{start: int32(i), end: int32(i + 1), prev: int32(i) - 1, next: int32(i) + 1})
		s.syms = append(s.syms, t.bpe.byteSym[b])
	}
	s.symbols[len(s.symbols)-1].next = -1

	s.bpeQ = s.bpeQ[:0]
	for i := int32(1); i < int32(len(s.symbols)); i++ {
		t.addBPEBigram(s, i-1, i)
	}
	for len(s.bpeQ) > 0 {
		b := s.bpeQ.pop()
		l, r := &s.symbols[b.left], &s.symbols[b.right]
		// A pair is stale once either side merged with something else; both
		// sides only ever grow, so an unchanged total length means unchanged.
		if l.start == l.end || r.start == r.end || r.end-l.start != b.size || l.next != b.right {
			continue
		}
		s.syms[b.left] = b.result
		l.end = r.end
		r.start = r.end
		l.next = r.next
		if r.next >= 0 {
			s.symbols[r.next].prev = b.left
		}
		t.addBPEBigram(s, l.prev, b.left)
		t.addBPEBigram(s, b.left, l.next)
	}

	for i, sym := range s.symbols {
		if sym.start == sym.end {
			continue
		}
		if id := s.syms[i]; id >= 0 {
			if tok := t.bpe.symTok[id]; tok >= 0 {
				out = append(out, tok)
				continue
			}
		}
		// llama.cpp's fallback for a symbol that is not a token looks up each
		// byte of its encoded text on its own; bytes without a token vanish.
		for _, b := range word[sym.start:sym.end] {
			out = append(out, t.bpe.fallback[b]...)
		}
	}
	return out
}

// encodeBPE appends the ids of one raw-text fragment.
func (t *Tokenizer) encodeBPE(s *encodeScratch, text string, out []int32) []int32 {
	// Sized once: a fragment has at most one code point per byte, and
	// growing by doubling would allocate twice the final size.
	n := utf8.RuneCountInString(text)
	s.cpts = decodeCpts(slices.Grow(s.cpts[:0], n), text)
	s.flags = slices.Grow(s.flags[:0], len(s.cpts))
	for _, r := range s.cpts {
		s.flags = append(s.flags, flagsOf(r))
	}
	ct := cptText{cpts: s.cpts, flags: s.flags}
	words := t.pre.split(&ct, &s.spans)
	for _, w := range words {
		s.bytes = slices.Grow(s.bytes[:0], w.end-w.start)
		for _, r := range s.cpts[w.start:w.end] {
			s.bytes = appendCpt(s.bytes, r)
		}
		if s.over(out) {
			return out
		}
		if ids, ok := t.words.get(s.bytes); ok {
			out = append(out, ids...)
			continue
		}
		if len(s.bytes) <= maxPieceBytes {
			n := len(out)
			out = t.bpeWord(s, s.bytes, out)
			t.words.put(s.bytes, out[n:])
			continue
		}
		for word := s.bytes; len(word) > 0 && !s.over(out); {
			n := cutPiece(word)
			out = t.bpeWord(s, word[:n], out)
			word = word[n:]
		}
	}
	return out
}

// wordCache remembers the ids of recent words; prose and code repeat most
// of their words, and a hit skips the merge loop entirely.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const (
	wordCacheEntries = 1 << 15
	wordCacheMaxLen  = 64
)

func (c *wordCache) get(word []byte) ([]int32, bool) {
	if len(word) > wordCacheMaxLen {
		return nil, false
	}
	c.mu.RLock()
	ids, ok := c.m[string(word)]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word []byte, ids []int32) {
	if len(word) > wordCacheMaxLen {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= wordCacheEntries {
		c.m = make(map[string][]int32)
	}
	c.m[string(word)] = slices.Clone(ids)
	c.mu.Unlock()
}
