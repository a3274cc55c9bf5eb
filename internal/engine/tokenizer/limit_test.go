package tokenizer

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

// limitTokenizers are a BPE and a SentencePiece tokenizer in which every
// byte of text has a token, as in every real vocabulary.
func limitTokenizers(t testing.TB) []*Tokenizer {
	v := chatVocab(t, "qwen2")
	for _, text := range byteToText {
		if !slices.Contains(v.Tokens, text) {
			v.Tokens = append(v.Tokens, text)
			v.Types = append(v.Types, TypeNormal)
		}
	}
	return []*Tokenizer{mustNew(t, v), mustNew(t, spmVocab(true, spmPieces))}
}

// allocated is the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestEncodeLimitMatchesEncode(t *testing.T) {
	for _, tok := range limitTokenizers(t) {
		text := "<|im_start|>user\n" + benchProse + "<|im_end|>"
		want := tok.Encode(text, true, true)
		got, complete := tok.EncodeLimit(text, true, true, len(want))
		if !complete || !slices.Equal(got, want) {
			t.Fatalf("%s: EncodeLimit at the exact count = %d tokens, complete %v; want %d, true", tok.Model(), len(got), complete, len(want))
		}
		got, complete = tok.EncodeLimit(text, true, true, len(want)-1)
		if complete {
			t.Fatalf("%s: EncodeLimit one below the count says complete", tok.Model())
		}
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("%s: EncodeLimit gave up with %d tokens that are not a prefix of Encode's", tok.Model(), len(got))
		}
	}
}

// A text longer than the limit's tokens can cover is refused before any
// work on it: one word of 16 MiB against a limit of 4096 tokens.
func TestEncodeLimitRefusesLongTextCheaply(t *testing.T) {
	for _, tok := range limitTokenizers(t) {
		if tok.MaxTokenBytes() == 0 {
			t.Fatalf("%s: no bytes-per-token bound for a vocabulary that covers every byte", tok.Model())
		}
		word := strings.Repeat("a", 16<<20)
		var complete bool
		n := allocated(func() { _, complete = tok.EncodeLimit(word, true, true, 4096) })
		if complete {
			t.Fatalf("%s: 16 MiB of text fits 4096 tokens?", tok.Model())
		}
		if n > 1<<20 {
			t.Errorf("%s: refusing 16 MiB of text allocated %d bytes; want under 1 MiB", tok.Model(), n)
		}
	}
}

// The merge scratch for one long word is bounded by maxPieceBytes: the
// whole encode of a 4 MiB word allocates a small multiple of the word
// (its code points, their flags, the ids), not the ~60 bytes per byte a
// merge run over the whole word takes.
func TestEncodeLongWordBoundedScratch(t *testing.T) {
	for _, tok := range limitTokenizers(t) {
		word := strings.Repeat("ab", 2<<20)
		var ids []int32
		n := allocated(func() { ids = tok.Encode(word, false, false) })
		if len(ids) == 0 {
			t.Fatalf("%s: no tokens", tok.Model())
		}
		// The ids take 4 bytes each, several times over while the slice
		// grows (by a quarter at a time once large).
		if rest := int64(n) - 24*int64(len(ids)); rest > 10*int64(len(word)) {
			t.Errorf("%s: encoding a %d-byte word into %d ids allocated %d bytes (%.1f per byte besides the ids); want at most 10",
				tok.Model(), len(word), len(ids), n, float64(rest)/float64(len(word)))
		}
		if got := tok.Decode(ids); got != word && strings.TrimPrefix(got, " ") != word {
			t.Errorf("%s: the long word does not decode back to itself", tok.Model())
		}
	}
}

// A word just past maxPieceBytes is cut before a space where there is one.
func TestCutPiece(t *testing.T) {
	text := strings.Repeat("x", maxPieceBytes-10) + " tail" + strings.Repeat("y", 100)
	if n := cutPiece(text); n != maxPieceBytes-10 {
		t.Errorf("cut at %d; want %d (before the space)", n, maxPieceBytes-10)
	}
	text = strings.Repeat("é", maxPieceBytes) // 2 bytes each, no space
	n := cutPiece(text)
	if n > maxPieceBytes || n%2 != 0 {
		t.Errorf("cut at %d inside a UTF-8 sequence or past the bound", n)
	}
	text = strings.Repeat("x", maxPieceBytes) + " "
	if n := cutPiece(text); n != maxPieceBytes {
		t.Errorf("a space at the very end: cut at %d; want %d", n, maxPieceBytes)
	}
	text = strings.Repeat("x", maxPieceBytes-10) + "  " + strings.Repeat("y", 100)
	if n := cutPiece(text); n == maxPieceBytes-10 || n == maxPieceBytes-9 {
		t.Errorf("cut at %d, inside a run of spaces", n)
	}
	if n := cutPiece("short"); n != 5 {
		t.Errorf("short text cut at %d", n)
	}
}

// FuzzEncodeLimit checks EncodeLimit against Encode: under any limit its
// ids are a prefix of Encode's, and it says complete exactly when
// Encode's fit the limit.
func FuzzEncodeLimit(f *testing.F) {
	fuzzSeeds(f)
	f.Add(strings.Repeat("ab", 100) + "<|im_end|>" + strings.Repeat(" ", 50))
	toks := limitTokenizers(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			want := tok.Encode(s, true, true)
			for _, limit := range []int{0, 1, len(want) / 2, len(want) - 1, len(want), len(want) + 1} {
				if limit < 0 {
					continue // no limit
				}
				got, complete := tok.EncodeLimit(s, true, true, limit)
				if complete != (len(want) <= limit) {
					t.Fatalf("%s: limit %d of %d tokens: complete %v", tok.Model(), limit, len(want), complete)
				}
				if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
					t.Fatalf("%s: limit %d: %d ids that are not a prefix of Encode's %d", tok.Model(), limit, len(got), len(want))
				}
				if complete && len(got) != len(want) {
					t.Fatalf("%s: limit %d: complete with %d of %d ids", tok.Model(), limit, len(got), len(want))
				}
			}
		}
	})
}
