package tokenizer

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// trainingCorpus is prose, code and a little of everything else, enough for
// a few hundred merges that make real multi-byte tokens.
const trainingCorpus = `The quick brown fox jumps over the lazy dog. It's a truth universally
acknowledged that a single model in possession of a good tokenizer must be in want of merges.
We'll see whether they're right: I've heard they'd rather not, but you'll know when it's done.
Numbers like 12345, 2024 and 3.14159 appear in text; so do dates (2025-01-31) and times 12:30.

func main() {
	for i := 0; i < 10; i++ {
		fmt.Println("hello, world", i)
	}
}

def tokenize(text: str) -> list[int]:
    """Split text into tokens."""
    return [ord(c) for c in text if c != " "]

    if x == 1:
        return None

Ünïcödé tëxt: naïve café, Straße, Ωmega, Привет мир, 你好世界, こんにちは, 안녕하세요, مرحبا.
Emoji: 👋🏽 🎉 ✅ — and “quotes” ‘here’ … done.
<div class="note">Hello &amp; welcome</div>
SELECT name, count(*) FROM users WHERE id > 100 GROUP BY name;
`

// trainBPE learns byte-level BPE merges from corpus, splitting words with the
// given pre-tokenizer. Tokens 0-255 are the byte alphabet (id = byte value),
// then one token per merge result, most frequent pair first.
func trainBPE(t testing.TB, pre, corpus string, nMerges int) (tokens, merges []string) {
	t.Helper()
	for b := range 256 {
		tokens = append(tokens, byteToText[b])
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		seen[tok] = true
	}
	counts := map[string]int{}
	for _, w := range splitWords(t, pre, corpus) {
		var enc strings.Builder
		for _, b := range []byte(w) {
			enc.WriteString(byteToText[b])
		}
		counts[enc.String()]++
	}
	type word struct {
		syms  []string
		count int
	}
	var words []word
	for w, c := range counts {
		var syms []string
		for _, r := range w {
			syms = append(syms, string(r))
		}
		words = append(words, word{syms, c})
	}
	slices.SortFunc(words, func(a, b word) int { return cmp.Compare(strings.Join(a.syms, ""), strings.Join(b.syms, "")) })
	for len(merges) < nMerges {
		pairs := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]string{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		if len(pairs) == 0 {
			break
		}
		var best [2]string
		bestN := 0
		for p, n := range pairs {
			if n > bestN || (n == bestN && (p[0]+" "+p[1]) < (best[0]+" "+best[1])) {
				best, bestN = p, n
			}
		}
		merges = append(merges, best[0]+" "+best[1])
		if m := best[0] + best[1]; !seen[m] {
			seen[m] = true
			tokens = append(tokens, m)
		}
		for wi := range words {
			syms := words[wi].syms
			var out []string
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
					out = append(out, best[0]+best[1])
					i++
					continue
				}
				out = append(out, syms[i])
			}
			words[wi].syms = out
		}
	}
	return tokens, merges
}

// chatSpecials are the ChatML and tool tokens of Qwen-style vocabularies.
var chatSpecials = []struct {
	text string
	typ  int32
}{
	{"<|endoftext|>", TypeControl},
	{"<|im_start|>", TypeControl},
	{"<|im_end|>", TypeControl},
	{"<tool_call>", TypeUserDefined},
	{"</tool_call>", TypeUserDefined},
	{"<think>", TypeUserDefined},
	{"</think>", TypeUserDefined},
}

var trained sync.Map // pre -> [2][]string

// chatVocab is a trained BPE vocabulary with the ChatML specials appended.
func chatVocab(t testing.TB, pre string) Vocab {
	t.Helper()
	var tokens, merges []string
	if v, ok := trained.Load(pre); ok {
		tm := v.([2][]string)
		tokens, merges = tm[0], tm[1]
	} else {
		tokens, merges = trainBPE(t, pre, trainingCorpus, 400)
		trained.Store(pre, [2][]string{tokens, merges})
	}
	v := EmptyVocab()
	v.Model, v.Pre = "gpt2", pre
	v.Tokens = slices.Clone(tokens)
	v.Merges = merges
	for range tokens {
		v.Types = append(v.Types, TypeNormal)
	}
	for _, s := range chatSpecials {
		v.Tokens = append(v.Tokens, s.text)
		v.Types = append(v.Types, s.typ)
	}
	id := func(text string) int32 { return int32(slices.Index(v.Tokens, text)) }
	v.BOS = id("<|endoftext|>")
	v.EOS = id("<|im_end|>")
	v.PAD = id("<|endoftext|>")
	return v
}

func mustNew(t testing.TB, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tok
}

func ptr[T any](v T) *T { return &v }

// texts renders ids as their stored token texts, for readable failures.
func texts(tok *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tok.TokenText(id)
	}
	return out
}

// ids looks up each text as a whole token.
func ids(t testing.TB, tok *Tokenizer, texts ...string) []int32 {
	t.Helper()
	out := make([]int32, len(texts))
	for i, s := range texts {
		id, ok := tok.Lookup(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		out[i] = id
	}
	return out
}
