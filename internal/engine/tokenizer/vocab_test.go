package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewRejectsBadVocabularies(t *testing.T) {
	good := func() Vocab { return byteVocab("qwen2", []string{"ab"}, []string{"a b"}) }
	tests := []struct {
		name string
		edit func(*Vocab)
		want string
	}{
		{"no model", func(v *Vocab) { v.Model = "" }, "tokenizer.ggml.model is missing"},
		{"unknown model", func(v *Vocab) { v.Model = "wordpiece9" }, `unknown tokenizer model "wordpiece9"`},
		{"unsupported model", func(v *Vocab) { v.Model = "bert" }, `"bert" is not supported`},
		{"no tokens", func(v *Vocab) { v.Tokens = nil }, "tokenizer.ggml.tokens is missing"},
		{"gpt2 without merges", func(v *Vocab) { v.Merges = nil }, "merges is missing"},
		{"short token types", func(v *Vocab) { v.Types = []int32{1, 1} }, "token_type has 2 entries for 257 tokens"},
		{"short scores", func(v *Vocab) { v.Scores = []float32{0} }, "scores has 1 entries"},
		{"duplicate token", func(v *Vocab) { v.Tokens[256] = "a" }, `token 256 has the same text as token 97`},
		{"unknown pre", func(v *Vocab) { v.Pre = "nonsense" }, `unknown pre-tokenizer type "nonsense"`},
		{"unsupported pre", func(v *Vocab) { v.Pre = "tekken" }, `pre-tokenizer "tekken" is not supported`},
		{"add_bos without a BOS token", func(v *Vocab) { v.Pre, v.AddBOS = "chatglm-bpe", ptr(true) }, "asks for a BOS token"},
		{"add_eos without an EOS token", func(v *Vocab) { v.Tokens, v.AddEOS = v.Tokens[:5], ptr(true) }, "asks for an EOS token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := good()
			tc.edit(&v)
			_, err := New(v)
			if err == nil {
				t.Fatal("New: no error")
			}
			if !errors.Is(err, ErrInvalidVocab) {
				t.Errorf("error %v does not wrap ErrInvalidVocab", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestNewToleratesWhatLlamaCppTolerates(t *testing.T) {
	v := byteVocab("", []string{"ab", ""}, []string{"a b"})
	v.EOS = 1 << 20 // out of range: ignored, the default applies
	tok := mustNew(t, v)
	if got := tok.EOS(); got != 11 {
		t.Errorf("EOS = %d, want the BPE default 11", got)
	}
	if got := tok.TokenText(257); got != "[EMPTY_257]" {
		t.Errorf("empty token text = %q", got)
	}
	if len(tok.Warnings()) < 3 {
		t.Errorf("warnings = %q, want missing pre, empty token and bad EOS", tok.Warnings())
	}

	small := byteVocab("qwen2", nil, []string{"a b"})
	small.Tokens = small.Tokens[:5]
	tok = mustNew(t, small)
	if tok.BOS() != NoToken || tok.EOS() != NoToken {
		t.Errorf("defaults past the vocabulary should be disabled, got BOS %d EOS %d", tok.BOS(), tok.EOS())
	}
}

func TestEndOfGeneration(t *testing.T) {
	extra := []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<|fim_pad|>", "<|file_sep|>", "<unused_1>", "plain"}
	v := byteVocab("qwen2", extra, []string{"a b"})
	for range v.Tokens {
		v.Types = append(v.Types, TypeNormal)
	}
	base := int32(256)
	v.Types[base+0], v.Types[base+1], v.Types[base+2] = TypeControl, TypeControl, TypeControl
	v.Types[base+6] = TypeControl
	// <|eot_id|> is deliberately typed normal: llama.cpp forces it to control.
	v.EOS = base + 7 // an ordinary token named as EOS still ends generation
	tok := mustNew(t, v)

	want := []int32{base + 0, base + 2, base + 3, base + 4, base + 5, base + 7}
	if got := tok.EOGTokens(); !slices.Equal(got, want) {
		t.Errorf("EOG = %q, want %q", texts(tok, got), texts(tok, want))
	}
	for _, id := range want {
		if !tok.IsEOG(id) {
			t.Errorf("IsEOG(%q) = false", tok.TokenText(id))
		}
	}
	if tok.IsEOG(base+1) || tok.IsEOG(NoToken) || tok.IsEOG(1<<30) {
		t.Error("IsEOG true for a non-EOG id")
	}
	if !tok.IsControl(base + 3) {
		t.Error("<|eot_id|> was not forced to control")
	}
	// Of the three EOT candidates, a libstdc++ unordered_map filled with
	// this vocabulary yields <|eot_id|> first (positions 1, 36 and 135 for
	// <|eot_id|>, <|endoftext|> and <|im_end|>, checked with g++ 12).
	if tok.EOT() != base+3 {
		t.Errorf("EOT = %q, want <|eot_id|>", tok.TokenText(tok.EOT()))
	}
	if tok.TokenAttr(base+6)&AttrUnused == 0 {
		t.Error("control token named unused is not marked unused")
	}
	// Control tokens forced by text are matched as specials when parsing.
	if got := tok.Encode("x<|eot_id|>", false, true); !slices.Equal(got, []int32{'x', base + 3}) {
		t.Errorf("Encode = %q", texts(tok, got))
	}
}

func TestHarmonyEndIsNotEOG(t *testing.T) {
	v := byteVocab("qwen2", []string{"<|return|>", "<|call|>", "<|end|>", "<|channel|>"}, []string{"a b"})
	tok := mustNew(t, v)
	end := ids(t, tok, "<|end|>")[0]
	if tok.IsEOG(end) {
		t.Error("<|end|> is EOG alongside <|return|> and <|call|>")
	}
	if !tok.IsEOG(ids(t, tok, "<|return|>")[0]) {
		t.Error("<|return|> is not EOG")
	}
	if tok.TokenAttr(end) != AttrUserDefined || tok.TokenAttr(ids(t, tok, "<|channel|>")[0]) != AttrUserDefined {
		t.Error("gpt-oss tokens should be user-defined")
	}
}

func TestAccessors(t *testing.T) {
	tok := mustNew(t, chatVocab(t, "qwen2"))
	if tok.Model() != "gpt2" || tok.Pre() != "qwen2" {
		t.Errorf("Model/Pre = %q/%q", tok.Model(), tok.Pre())
	}
	if tok.NumTokens() != len(chatVocab(t, "qwen2").Tokens) {
		t.Errorf("NumTokens = %d", tok.NumTokens())
	}
	if _, ok := tok.Lookup("<|im_end|>"); !ok {
		t.Error("Lookup(<|im_end|>) failed")
	}
	if _, ok := tok.Lookup("no such token"); ok {
		t.Error("Lookup found a missing token")
	}
	if tok.TokenText(-1) != "" || tok.TokenAttr(1<<30) != AttrUndefined {
		t.Error("out-of-range accessors should be empty")
	}
	if tok.UNK() != NoToken || tok.SEP() != NoToken || tok.EOM() != NoToken {
		t.Errorf("UNK/SEP/EOM = %d/%d/%d", tok.UNK(), tok.SEP(), tok.EOM())
	}
	if tok.PAD() != tok.BOS() {
		t.Errorf("PAD %d, want %d", tok.PAD(), tok.BOS())
	}
}

func TestSetSpecial(t *testing.T) {
	v := EmptyVocab()
	for _, kv := range []struct {
		name string
		id   int64
	}{
		{"bos", 1}, {"eos", 2}, {"eot", 3}, {"eom", 4}, {"unknown", 5}, {"seperator", 6}, {"padding", 7},
		{"mask", 8}, {"prefix", 9}, {"fim_pre", 10}, {"fim_suf", 11}, {"suffix", 12}, {"fim_mid", 13},
		{"fim_pad", 14}, {"fim_rep", 15}, {"fim_sep", 16},
	} {
		if !v.SetSpecial(kv.name, kv.id) {
			t.Errorf("SetSpecial(%q) not recognised", kv.name)
		}
	}
	got := []int32{v.BOS, v.EOS, v.EOT, v.EOM, v.UNK, v.SEP, v.PAD, v.Mask, v.FIMPre, v.FIMSuf, v.FIMMid, v.FIMPad, v.FIMRep, v.FIMSep}
	// The older prefix/suffix keys win whatever the order; fim_mid has no rival.
	want := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16}
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	if v.SetSpecial("cls", 1) {
		t.Error("cls is not a key llama.cpp reads")
	}
	v.SetSpecial("bos", 1<<40)
	v.SetSpecial("eos", -3)
	base := byteVocab("qwen2", nil, []string{"a b"})
	base.BOS, base.EOS = v.BOS, v.EOS
	tok := mustNew(t, base)
	if tok.BOS() != 11 || tok.EOS() != 11 {
		t.Errorf("unusable ids should leave the defaults, got BOS %d EOS %d", tok.BOS(), tok.EOS())
	}
}
