package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// roundTripTexts covers the shapes prompts and code take.
var roundTripTexts = map[string]string{
	"ascii":            "Hello, world! How are you today?",
	"contractions":     "I'm sure they'd've known it's what we'll do; don't.",
	"digits":           "0 1 12 123 1234 12345 3.14159 1e-9 0xFF 2025-01-31",
	"whitespace runs":  "a  b   c    d \t e\t\tf   ",
	"newlines":         "line one\nline two\r\n\r\n\n\nend\n",
	"leading spaces":   "   indented",
	"trailing spaces":  "trailing   ",
	"only spaces":      "     ",
	"code":             "func main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(i)\n\t}\n}\n",
	"python":           "def f(x):\n    if x:\n        return {'a': [1, 2]}\n    return None\n",
	"accents":          "naïve café crème brûlée Straße",
	"combining marks":  "e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937",
	"cjk":              "你好，世界！こんにちは。안녕하세요",
	"rtl":              "مرحبا بالعالم שלום",
	"emoji":            "👋🏽 🎉 🏳️‍🌈 👨‍👩‍👧‍👦 ✅",
	"unicode spaces":   "a\u00a0b\u2003c\u3000d\u2028e\u0085f",
	"symbols":          "€100 © ™ ∑∫√ → ← «»",
	"very long word":   strings.Repeat("supercalifragilistic", 500),
	"long digit run":   strings.Repeat("9876543210", 300),
	"control chars":    "a\x00b\x01c\x1fd\x7fe",
	"apostrophes":      "' '' ''' 's 'S 'Ll x' y' ",
	"markup":           "<div class=\"x\">&amp;</div> <|not_special|>",
	"replacement char": "a\uFFFDb",
	"private use":      "\ue000\U000F0000",
	"unassigned":       "\u0378\U0002EBF0",
}

func TestRoundTripBPE(t *testing.T) {
	for _, pre := range []string{"qwen2", "qwen35", "llama-bpe", "gpt-2", "default", "starcoder", "falcon", "deepseek-coder", "laguna"} {
		t.Run(pre, func(t *testing.T) {
			tok := mustNew(t, chatVocab(t, "qwen2"))
			if pre != "qwen2" {
				v := chatVocab(t, "qwen2") // same merges; only the word splits differ
				v.Pre = pre
				tok = mustNew(t, v)
			}
			for name, s := range roundTripTexts {
				ids := tok.Encode(s, false, false)
				// Concatenated pieces always reproduce the text.
				var b strings.Builder
				for _, id := range ids {
					b.WriteString(tok.Piece(id, false))
				}
				if b.String() != s {
					t.Errorf("%s: pieces give %q, want %q", name, b.String(), s)
				}
				// Decode does too, unless the vocabulary asks for llama.cpp's clean-up.
				if !tok.cleanSpaces && tok.Decode(ids) != s {
					t.Errorf("%s: Decode gives %q", name, tok.Decode(ids))
				}
			}
		})
	}
}

func TestRoundTripSPM(t *testing.T) {
	tok := mustNew(t, spmVocab(true, spmPieces))
	for name, s := range roundTripTexts {
		if got := tok.Decode(tok.Encode(s, false, false)); got != s {
			t.Errorf("%s: Decode(Encode(%q)) = %q", name, s, got)
		}
		if got := tok.DecodeWith(tok.Encode(s, true, false), DecodeOptions{RemoveSpecial: true}); got != " "+s {
			t.Errorf("%s: with BOS got %q", name, got)
		}
	}
}

func TestDecodeCleanSpaces(t *testing.T) {
	tok := mustNew(t, chatVocab(t, "llama-bpe"))
	tests := []struct{ in, want string }{
		{"Hello , world .", "Hello, world."},
		{"What ? No !", "What? No!"},
		{"it ' s", "it's"},
		{"a ' b", "a'b"},
		{"x ' ' y", "x'' y"},
		{"he 's she 'm we 're you 've", "he's she'm we're you've"},
		{"I 'd I 'll don 't", "I 'd I 'll don 't"},
		{"", ""},
		{" .", "."},
	}
	for _, tc := range tests {
		if got := tok.Decode(tok.Encode(tc.in, false, false)); got != tc.want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
	qwen := mustNew(t, chatVocab(t, "qwen2"))
	if got := qwen.Decode(qwen.Encode("Hello , world .", false, false)); got != "Hello , world ." {
		t.Errorf("qwen2 has no clean-up, got %q", got)
	}
}

func TestDecodeSpecialTokens(t *testing.T) {
	tok := mustNew(t, chatVocab(t, "qwen2"))
	ids := tok.Encode("<|im_start|>user\n<tool_call>x</tool_call><|im_end|>", false, true)
	if got, want := tok.Decode(ids), "user\n<tool_call>x</tool_call>"; got != want {
		t.Errorf("Decode = %q, want %q (control hidden, user-defined shown)", got, want)
	}
	if got, want := tok.DecodeWith(ids, DecodeOptions{Special: true}), "<|im_start|>user\n<tool_call>x</tool_call><|im_end|>"; got != want {
		t.Errorf("Decode(special) = %q, want %q", got, want)
	}
	if tok.Piece(tok.EOS(), false) != "" || tok.Piece(tok.EOS(), true) != "<|im_end|>" {
		t.Error("Piece of a control token")
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := mustNew(t, chatVocab(t, "qwen2"))
	text := "héllo 你好 👋🏽 wörld\n"
	ids := tok.Encode(text, false, false)
	d := tok.NewStreamDecoder(false)
	var got strings.Builder
	sawHeldBack := false
	for _, id := range ids {
		out := d.Add(id)
		if !utf8.ValidString(out) {
			t.Fatalf("Add returned invalid UTF-8 %q", out)
		}
		if out == "" && tok.Piece(id, false) != "" {
			sawHeldBack = true
		}
		got.WriteString(out)
	}
	got.WriteString(d.Flush())
	if got.String() != text {
		t.Errorf("stream gave %q, want %q", got.String(), text)
	}
	if !sawHeldBack {
		t.Error("no token was held back; the test text should split characters across tokens")
	}

	// Bytes that can never complete come out as U+FFFD, not held forever.
	v := spmVocab(true, spmPieces)
	spm := mustNew(t, v)
	byteTok := func(b byte) int32 { return spm.byteTokens[b] }
	d = spm.NewStreamDecoder(false)
	if out := d.Add(byteTok(0xE4)); out != "" {
		t.Errorf("lead byte alone gave %q", out)
	}
	if out := d.Add(byteTok('a')); out != "\uFFFDa" {
		t.Errorf("broken sequence gave %q", out)
	}
	if out := d.Add(byteTok(0xF0)) + d.Flush(); out != "\uFFFD" {
		t.Errorf("flush of a partial sequence gave %q", out)
	}
}
