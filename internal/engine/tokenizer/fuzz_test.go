package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range roundTripTexts {
		f.Add(s)
	}
	for _, s := range []string{"", "<|im_start|>user\nhi<|im_end|>", "<tool_call>{}</tool_call>", "\xff\xfe\xed\xa0\x80", "a\xe4\xbd", "'s'S'll", "\u2581 \u2581"} {
		f.Add(s)
	}
}

// FuzzBPE checks that encoding never panics, yields only valid ids, and that
// the pieces reproduce the text with invalid UTF-8 replaced the way
// llama.cpp replaces it.
func FuzzBPE(f *testing.F) {
	fuzzSeeds(f)
	var toks []*Tokenizer
	for _, pre := range []string{"qwen2", "llama-bpe", "gpt-2", "default", "deepseek-coder"} {
		v := chatVocab(f, "qwen2")
		v.Pre = pre
		toks = append(toks, mustNew(f, v))
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := string(llamaSanitize(s))
		for _, tok := range toks {
			for _, parse := range []bool{false, true} {
				ids := tok.Encode(s, false, parse)
				withSpecial := tok.Encode(s, true, parse)
				if tok.AddBOS() && (len(withSpecial) != len(ids)+1 || withSpecial[0] != tok.BOS()) {
					t.Fatalf("%s: add special gave %d ids for %d", tok.Pre(), len(withSpecial), len(ids))
				}
				if !tok.AddBOS() && !slices.Equal(withSpecial, ids) {
					t.Fatalf("%s: add special changed the ids without add_bos", tok.Pre())
				}
				var b strings.Builder
				for _, id := range ids {
					if id < 0 || int(id) >= tok.NumTokens() {
						t.Fatalf("%s: id %d out of range", tok.Pre(), id)
					}
					b.WriteString(tok.Piece(id, true))
				}
				if b.String() != want {
					t.Fatalf("%s parse=%v: pieces %q, want %q", tok.Pre(), parse, b.String(), want)
				}
				_ = tok.Decode(ids)
			}
		}
	})
}

// llamaSanitize is the text llama.cpp's BPE path actually tokenizes: every
// undecodable byte becomes U+FFFD.
func llamaSanitize(s string) []byte {
	var out []byte
	for _, r := range decodeCpts(nil, s) {
		out = appendCpt(out, r)
	}
	return out
}

// FuzzSPM checks SentencePiece encoding: no panics, valid ids, and an exact
// round trip for valid UTF-8 without U+2581 (which decodes as a space).
func FuzzSPM(f *testing.F) {
	fuzzSeeds(f)
	tok := mustNew(f, spmVocab(true, spmPieces))
	noFallback := mustNew(f, spmVocab(false, spmPieces))
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, false, true)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.NumTokens() {
				t.Fatalf("id %d out of range", id)
			}
		}
		if utf8.ValidString(s) && !strings.Contains(s, "\u2581") && !strings.Contains(s, "<") {
			if got := tok.Decode(ids); got != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
		}
		_ = noFallback.Decode(noFallback.Encode(s, true, true))
	})
}

// FuzzStreamDecoder checks that streamed text is always valid UTF-8 and, for
// valid input, equals the whole decode.
func FuzzStreamDecoder(f *testing.F) {
	fuzzSeeds(f)
	tok := mustNew(f, chatVocab(f, "qwen2"))
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, false, false)
		d := tok.NewStreamDecoder(false)
		var b strings.Builder
		for _, id := range ids {
			out := d.Add(id)
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 %q", out)
			}
			b.WriteString(out)
		}
		b.WriteString(d.Flush())
		if want := strings.ToValidUTF8(string(llamaSanitize(s)), "\uFFFD"); utf8.ValidString(s) && b.String() != want {
			t.Fatalf("stream %q, want %q", b.String(), want)
		}
	})
}
