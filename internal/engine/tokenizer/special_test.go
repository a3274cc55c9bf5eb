package tokenizer

import (
	"slices"
	"testing"
)

func TestSpecialTokenParsing(t *testing.T) {
	tok := mustNew(t, chatVocab(t, "qwen2"))
	plain := func(s string) []int32 { return tok.Encode(s, false, false) }
	cat := func(parts ...[]int32) []int32 { return slices.Concat(parts...) }
	special := func(text string) []int32 { return ids(t, tok, text) }

	tests := []struct {
		name         string
		text         string
		parseSpecial bool
		want         []int32
	}{
		{"control tokens parsed", "<|im_start|>user\nhi<|im_end|>\n", true,
			cat(special("<|im_start|>"), plain("user\nhi"), special("<|im_end|>"), plain("\n"))},
		{"control tokens are plain text when not parsing", "<|im_start|>user", false,
			plain("<|im_start|>user")},
		{"user-defined tokens are always matched", "a<tool_call>b", false,
			cat(plain("a"), special("<tool_call>"), plain("b"))},
		{"adjacent specials", "<|im_end|><|im_start|>", true,
			cat(special("<|im_end|>"), special("<|im_start|>"))},
		{"special at both ends", "<think>x</think>", false,
			cat(special("<think>"), plain("x"), special("</think>"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tok.Encode(tc.text, false, tc.parseSpecial)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q)\n got %q\nwant %q", tc.text, texts(tok, got), texts(tok, tc.want))
			}
		})
	}

	// Without parsing, the control token's text must not come back as its id.
	imStart := special("<|im_start|>")[0]
	if slices.Contains(plain("<|im_start|>"), imStart) {
		t.Error("plain text produced the control token id")
	}
}

func TestSpecialTokensLongestFirst(t *testing.T) {
	v := byteVocab("qwen2", []string{"<x>", "<x><y>", "<y>"}, []string{"a b"})
	for range v.Tokens {
		v.Types = append(v.Types, TypeNormal)
	}
	n := len(v.Types)
	v.Types[n-3], v.Types[n-2], v.Types[n-1] = TypeUserDefined, TypeUserDefined, TypeUserDefined
	tok := mustNew(t, v)
	got := texts(tok, tok.Encode("<x><y><x>", false, false))
	if want := []string{"<x><y>", "<x>"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSpecialTokenStripAttributes(t *testing.T) {
	// llama.cpp gives every special token of a model named Phi-3 the rstrip
	// attribute (except <s>, <unk> and <|endoftext|>): white space after them is dropped.
	v := byteVocab("gpt-2", []string{"<|user|>", "<|endoftext|>"}, []string{"a b"})
	for range v.Tokens {
		v.Types = append(v.Types, TypeNormal)
	}
	v.Types[len(v.Types)-2] = TypeControl
	v.Types[len(v.Types)-1] = TypeControl
	v.Name = "Phi-3 mini"
	tok := mustNew(t, v)
	got := texts(tok, tok.Encode("<|user|> \n hi<|endoftext|> x", false, true))
	if want := []string{"<|user|>", "h", "i", "<|endoftext|>", "Ġ", "x"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if tok.TokenAttr(ids(t, tok, "<|user|>")[0])&AttrRStrip == 0 {
		t.Error("<|user|> lacks rstrip")
	}
}

func TestBOSAndEOSRules(t *testing.T) {
	base := chatVocab(t, "qwen2")
	llama3 := chatVocab(t, "llama-bpe")
	tests := []struct {
		name      string
		vocab     Vocab
		edit      func(*Vocab)
		addBOS    bool
		addEOS    bool
		wantFirst string
		wantLast  string
	}{
		{"qwen2 adds nothing by default", base, nil, false, false, "", ""},
		{"llama-bpe adds BOS by default", llama3, nil, true, false, "<|endoftext|>", ""},
		{"add_bos_token false wins", llama3, func(v *Vocab) { v.AddBOS = ptr(false) }, false, false, "", ""},
		{"add_bos and add_eos keys", base, func(v *Vocab) { v.AddBOS, v.AddEOS = ptr(true), ptr(true) }, true, true,
			"<|endoftext|>", "<|im_end|>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.vocab
			if tc.edit != nil {
				tc.edit(&v)
			}
			tok := mustNew(t, v)
			if tok.AddBOS() != tc.addBOS || tok.AddEOS() != tc.addEOS {
				t.Fatalf("AddBOS/AddEOS = %v/%v, want %v/%v", tok.AddBOS(), tok.AddEOS(), tc.addBOS, tc.addEOS)
			}
			body := tok.Encode("hi", false, false)
			got := tok.Encode("hi", true, false)
			want := body
			if tc.wantFirst != "" {
				want = append(ids(t, tok, tc.wantFirst), want...)
			}
			if tc.wantLast != "" {
				want = append(slices.Clone(want), ids(t, tok, tc.wantLast)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Encode(add special) = %q, want %q", texts(tok, got), texts(tok, want))
			}
		})
	}
}
