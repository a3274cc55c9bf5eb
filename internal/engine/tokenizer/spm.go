package tokenizer

import "strings"

// SentencePiece (tokenizer.ggml.model "llama") as llama.cpp runs it: spaces
// become U+2581, the text starts as one symbol per UTF-8 sequence, and the
// adjacent pair whose concatenation is the highest-scoring token is merged
// first (leftmost on ties) until no adjacent pair forms a token. A final
// symbol that is not a token falls back to <0xXX> byte tokens.

const spmSpace = "\u2581"

type spmBigram struct {
	score       float32
	left, right int32
	size        int32
}

// before orders the SentencePiece queue: highest score first, leftmost
// on ties.
func (b spmBigram) before(o spmBigram) bool {
	return b.score > o.score || (b.score == o.score && b.left < o.left)
}

func (t *Tokenizer) addSPMBigram(s *encodeScratch, text string, left, right int32) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.symbols[left], s.symbols[right]
	id, ok := t.tokenToID[text[l.start:r.end]]
	if !ok {
		return
	}
	s.spmQ.push(spmBigram{score: t.tokens[id].score, left: left, right: right, size: r.end - l.start})
}

// encodeSPM appends the ids of one raw-text fragment; prefixSpace adds the
// leading space llama.cpp puts before text that starts the input or follows
// a special token.
// A fragment longer than maxPieceBytes is merged a piece at a time.
func (t *Tokenizer) encodeSPM(s *encodeScratch, fragment string, prefixSpace bool, out []int32) []int32 {
	if prefixSpace {
		fragment = " " + fragment
	}
	for len(fragment) > 0 && !s.over(out) {
		n := cutPiece(fragment)
		out = t.spmPiece(s, strings.ReplaceAll(fragment[:n], " ", spmSpace), out)
		fragment = fragment[n:]
	}
	return out
}

// spmPiece appends the ids of one piece of text whose spaces are U+2581.
func (t *Tokenizer) spmPiece(s *encodeScratch, text string, out []int32) []int32 {
	if text == "" {
		return out
	}

	s.symbols = s.symbols[:0]
	for off := 0; off < len(text); {
		n := min(utf8SeqLen(text[off]), len(text)-off)
		i := int32(len(s.symbols))
		s.symbols = append(s.symbols, symbol{start: int32(off), end: int32(off + n), prev: i - 1, next: i + 1})
		off += n
	}
	s.symbols[len(s.symbols)-1].next = -1

	s.spmQ = s.spmQ[:0]
	for i := int32(1); i < int32(len(s.symbols)); i++ {
		t.addSPMBigram(s, text, i-1, i)
	}
	for len(s.spmQ) > 0 {
		b := s.spmQ.pop()
		l, r := &s.symbols[b.left], &s.symbols[b.right]
		if l.start == l.end || r.start == r.end || r.end-l.start != b.size || l.next != b.right {
			continue
		}
		l.end = r.end
		r.start = r.end
		l.next = r.next
		if r.next >= 0 {
			s.symbols[r.next].prev = b.left
		}
		t.addSPMBigram(s, text, l.prev, b.left)
		t.addSPMBigram(s, text, b.left, l.next)
	}

	for i := int32(0); i != -1; i = s.symbols[i].next {
		sym := s.symbols[i]
		piece := text[sym.start:sym.end]
		if id, ok := t.tokenToID[piece]; ok {
			out = append(out, id)
			continue
		}
		// Every merged symbol is a token, so only single UTF-8 sequences
		// missing from the vocabulary get here.
		for j := 0; j < len(piece); j++ {
			if id := t.byteTokens[piece[j]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}
