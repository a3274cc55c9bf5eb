package tokenizer

import (
	"fmt"
	"slices"
	"testing"
)

// spmVocab is a Llama-2-shaped SentencePiece vocabulary: <unk>, <s>, </s>,
// optional byte tokens, then scored pieces.
func spmVocab(byteFallback bool, pieces map[string]float32) Vocab {
	v := EmptyVocab()
	v.Model = "llama"
	add := func(text string, typ int32, score float32) {
		v.Tokens = append(v.Tokens, text)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", TypeUnknown, 0)
	add("<s>", TypeControl, 0)
	add("</s>", TypeControl, 0)
	if byteFallback {
		for b := range 256 {
			add(fmt.Sprintf("<0x%02X>", b), TypeByte, 0)
		}
	}
	names := make([]string, 0, len(pieces))
	for p := range pieces {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		add(p, TypeNormal, pieces[p])
	}
	return v
}

var spmPieces = map[string]float32{
	"▁": -1, "h": -2, "e": -3, "l": -4, "o": -5, "w": -6, "r": -7, "d": -8, "a": -9,
	"▁h": -10, "he": -5, "ll": -1, "lo": -2, "hell": -3, "hello": -4, "▁hello": -20,
	"▁w": -11, "or": -6, "ld": -7, "orld": -8, "▁world": -21,
	"aa": -1,
	"▁▁": -30,
}

func TestSPMEncode(t *testing.T) {
	tests := []struct {
		name     string
		fallback bool
		text     string
		want     []string
	}{
		{"best score first builds the word", true, "hello", []string{"▁hello"}},
		{"two words", true, "hello world", []string{"▁hello", "▁world"}},
		{"equal scores merge leftmost first", true, "aaa", []string{"▁", "aa", "a"}},
		{"byte fallback for unknown characters", true, "hi", []string{"▁h", "<0x69>"}},
		{"multi-byte character as bytes", true, "é", []string{"▁", "<0xC3>", "<0xA9>"}},
		{"runs of spaces", true, "a  b", []string{"▁", "a", "▁▁", "<0x62>"}},
		{"unknown token without byte fallback", false, "hi", []string{"▁h", "<unk>"}},
		{"empty", true, "", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustNew(t, spmVocab(tc.fallback, spmPieces))
			got := texts(tok, tok.Encode(tc.text, false, false))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestSPMSpecialTokensAndPrefixSpace(t *testing.T) {
	tok := mustNew(t, spmVocab(true, spmPieces))
	tests := []struct {
		name         string
		text         string
		add, special bool
		want         []string
	}{
		{"BOS by default", "hello", true, false, []string{"<s>", "▁hello"}},
		{"text after a special token gets the prefix space", "<s>hello</s>world", false, true,
			[]string{"<s>", "▁hello", "</s>", "▁world"}},
		{"control tokens are text without parseSpecial", "</s>", false, false,
			[]string{"▁", "<0x3C>", "<0x2F>", "<0x73>", "<0x3E>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(tok, tok.Encode(tc.text, tc.add, tc.special))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}

	v := spmVocab(true, spmPieces)
	v.AddSpacePrefix = ptr(false)
	noPrefix := mustNew(t, v)
	if got := texts(noPrefix, noPrefix.Encode("hello", false, false)); !slices.Equal(got, []string{"hello"}) {
		t.Errorf("add_space_prefix=false: got %q", got)
	}
}

func TestSPMDecode(t *testing.T) {
	tok := mustNew(t, spmVocab(true, spmPieces))
	enc := func(s string, add bool) []int32 { return tok.Encode(s, add, false) }
	tests := []struct {
		name string
		ids  []int32
		o    DecodeOptions
		want string
	}{
		{"leading space removed", enc("hello world", false), DecodeOptions{}, "hello world"},
		{"bytes reassembled", enc("é hi", false), DecodeOptions{}, "é hi"},
		// llama.cpp only strips the space from the first token; a leading BOS
		// renders as nothing but still uses up the strip.
		{"BOS keeps the space", enc("hello", true), DecodeOptions{}, " hello"},
		{"BOS rendered", enc("hello", true), DecodeOptions{Special: true}, "<s> hello"},
		{"remove special drops BOS", enc("hello", true), DecodeOptions{RemoveSpecial: true}, " hello"},
		{"out of range ids render nothing", []int32{-5, 1 << 30}, DecodeOptions{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.DecodeWith(tc.ids, tc.o); got != tc.want {
				t.Errorf("DecodeWith(%q, %+v) = %q, want %q", texts(tok, tc.ids), tc.o, got, tc.want)
			}
		})
	}
}
