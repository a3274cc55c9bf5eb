package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// byteVocab is the 256-character byte alphabet plus extra tokens.
func byteVocab(pre string, extra, merges []string) Vocab {
	v := EmptyVocab()
	v.Model, v.Pre = "gpt2", pre
	for b := range 256 {
		v.Tokens = append(v.Tokens, byteToText[b])
	}
	v.Tokens = append(v.Tokens, extra...)
	v.Merges = merges
	return v
}

func TestBPEMerges(t *testing.T) {
	tests := []struct {
		name   string
		pre    string
		extra  []string
		merges []string
		text   string
		want   []string
	}{
		{"lowest rank first", "qwen2", []string{"ab", "bc", "abc"}, []string{"a b", "b c", "ab c"},
			"abc", []string{"abc"}},
		{"rank order decides the path", "qwen2", []string{"ab", "bc", "abc"}, []string{"b c", "a b", "ab c"},
			"abc", []string{"a", "bc"}},
		{"equal ranks merge leftmost first", "qwen2", []string{"aa"}, []string{"a a"},
			"aaa", []string{"aa", "a"}},
		{"merged pairs merge again", "qwen2", []string{"aa", "aaaa"}, []string{"a a", "aa aa"},
			"aaaaa", []string{"aaaa", "a"}},
		{"space is Ġ", "qwen2", []string{"Ġw", "Ġwo"}, []string{"Ġ w", "Ġw o"},
			"a wo", []string{"a", "Ġwo"}},
		{"llama3 takes a whole-word token without merges", "llama-bpe", []string{"Ġworld"}, []string{"x y"},
			" world", []string{"Ġworld"}},
		{"qwen2 needs merges for the same word", "qwen2", []string{"Ġworld"}, []string{"x y"},
			" world", []string{"Ġ", "w", "o", "r", "l", "d"}},
		{"merge result missing from the vocabulary falls back to bytes", "qwen2", nil, []string{"x y"},
			"xy", []string{"x", "y"}},
		{"multi-byte characters are byte symbols", "qwen2", []string{"Ã©"}, []string{"Ã ©"},
			"é", []string{"Ã©"}},
		{"duplicate merges keep the first rank", "qwen2", []string{"ab", "bc"}, []string{"b c", "a b", "b c"},
			"abc", []string{"a", "bc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustNew(t, byteVocab(tc.pre, tc.extra, tc.merges))
			got := texts(tok, tok.Encode(tc.text, false, false))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestBPEMissingByteTokensVanish(t *testing.T) {
	// Like llama.cpp: a symbol that is not a token is looked up byte by byte
	// of its encoded text; the 2-byte encoding of 0xC3 ("Ã") has no such
	// single-byte tokens, so it disappears.
	v := byteVocab("qwen2", nil, []string{"x y"})
	v.Tokens[0xC3] = "[gone]"
	tok := mustNew(t, v)
	got := texts(tok, tok.Encode("é!", false, false))
	if want := []string{"©", "!"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBPELongWord(t *testing.T) {
	tok := mustNew(t, chatVocab(t, "qwen2"))
	word := strings.Repeat("tokenizer", 2000)
	ids := tok.Encode(word, false, false)
	if got := tok.Decode(ids); got != word {
		t.Fatalf("round trip of a %d-byte word failed", len(word))
	}
	if len(ids) >= len(word)/2 {
		t.Errorf("%d tokens for %d bytes: merges did not apply", len(ids), len(word))
	}
}

func TestBPEInvalidUTF8BecomesReplacementCharacter(t *testing.T) {
	// llama.cpp decodes the text to code points first, replacing each byte
	// it cannot decode with U+FFFD; it does not reject overlong forms.
	tok := mustNew(t, chatVocab(t, "qwen2"))
	tests := []struct{ name, in, want string }{
		{"stray continuation", "a\x80b", "a\uFFFDb"},
		{"truncated sequence", "x\xe4\xbd", "x\uFFFD\uFFFD"},
		{"bad lead bytes", "\xff\xfe", "\uFFFD\uFFFD"},
		{"overlong NUL", "a\xc0\x80", "a\x00"},
		{"surrogate kept", "\xed\xa0\x80", "\xed\xa0\x80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Decode(tok.Encode(tc.in, false, false)); got != tc.want {
				t.Errorf("Decode(Encode(%q)) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
