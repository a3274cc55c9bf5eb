package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
)

var benchProse = strings.Repeat(`It is a truth universally acknowledged, that a single man in possession of a good fortune,
must be in want of a wife. However little known the feelings or views of such a man may be on his first
entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is
considered as the rightful property of some one or other of their daughters. `, 8)

var benchCode = strings.Repeat(`func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var req ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "tether: bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	for i, m := range req.Messages {
		if m.Role == "" { return fmt.Errorf("message %d: no role", i) }
	}
}
`, 8)

// benchmarkEncode measures throughput; cold empties the word cache before
// every call, so each word goes through the merge loop.
func benchmarkEncode(b *testing.B, tok *Tokenizer, text string, cold bool) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if cold && tok.words != nil {
			tok.words = &wordCache{}
		}
		tok.Encode(text, true, true)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, pre := range []string{"qwen2", "llama-bpe"} {
		tok := mustNew(b, chatVocab(b, pre))
		for _, cold := range []bool{true, false} {
			cache := "/warm"
			if cold {
				cache = "/cold"
			}
			b.Run(pre+"/prose"+cache, func(b *testing.B) { benchmarkEncode(b, tok, benchProse, cold) })
			b.Run(pre+"/code"+cache, func(b *testing.B) { benchmarkEncode(b, tok, benchCode, cold) })
		}
	}
	spm := mustNew(b, spmVocab(true, spmPieces))
	b.Run("spm/prose", func(b *testing.B) { benchmarkEncode(b, spm, benchProse, false) })
}

func BenchmarkDecode(b *testing.B) {
	tok := mustNew(b, chatVocab(b, "qwen2"))
	ids := tok.Encode(benchCode, false, false)
	b.SetBytes(int64(len(benchCode)))
	for b.Loop() {
		tok.Decode(ids)
	}
}

// largeVocab is a Qwen-sized vocabulary: the byte alphabet, 151k merge
// results built from random pairs, and the ChatML specials, two of which
// (<|endoftext|> and <|im_end|>) compete for EOT as in real Qwen files.
func largeVocab() Vocab {
	rng := rand.New(rand.NewPCG(11, 12))
	v := EmptyVocab()
	v.Model, v.Pre = "gpt2", "qwen2"
	seen := map[string]bool{}
	for b := range 256 {
		v.Tokens = append(v.Tokens, byteToText[b])
		seen[byteToText[b]] = true
	}
	for len(v.Tokens) < 151_643 {
		l := v.Tokens[rng.IntN(len(v.Tokens))]
		r := v.Tokens[rng.IntN(len(v.Tokens))]
		if len(l)+len(r) > 24 || seen[l+r] {
			continue
		}
		seen[l+r] = true
		v.Tokens = append(v.Tokens, l+r)
		v.Merges = append(v.Merges, l+" "+r)
	}
	for _, s := range chatSpecials {
		v.Tokens = append(v.Tokens, s.text)
	}
	for i := range v.Tokens {
		typ := TypeNormal
		if i >= 151_643 {
			typ = TypeControl
		}
		v.Types = append(v.Types, typ)
	}
	return v
}

func BenchmarkNewQwenSized(b *testing.B) {
	v := largeVocab()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(v); err != nil {
			b.Fatal(err)
		}
	}
}
