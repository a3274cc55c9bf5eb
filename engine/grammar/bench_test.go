package grammar_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
)

// benchVocab is the vocabulary of the Qwen2.5 0.5B GGUF in the benchmark
// cache when it is a real one (151,936 tokens nearly all with text),
// else a synthetic one of the same size with the same kinds of tokens
// (the synthetic models' GGUFs pad a small learnt vocabulary with
// unused tokens, which would flatter the masks).
var benchVocab = sync.OnceValues(func() ([][]byte, []int32) {
	home, _ := os.UserHomeDir()
	if toks, eog, err := ggufVocab(filepath.Join(home, ".cache", "tether", "bench", "qwen2.5-0.5b-q4_0.gguf")); err == nil {
		withText := 0
		for _, t := range toks {
			if len(t) > 0 {
				withText++
			}
		}
		if withText > 100000 {
			return toks, eog
		}
	}
	return syntheticVocab(151936)
})

func ggufVocab(path string) ([][]byte, []int32, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	g, err := f.Tokenizer()
	if err != nil {
		return nil, nil, err
	}
	v := tokenizer.EmptyVocab()
	v.Model, v.Pre, v.Tokens, v.Types, v.Scores, v.Merges = g.Model, g.Pre, g.Tokens, g.Types, g.Scores, g.Merges
	for name, id := range g.Special {
		v.SetSpecial(name, id)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		return nil, nil, err
	}
	toks := make([][]byte, tok.NumTokens())
	for id := range toks {
		if !tok.IsControl(int32(id)) {
			toks[id] = []byte(tok.Piece(int32(id), false))
		}
	}
	return toks, tok.EOGTokens(), nil
}

// syntheticVocab is the 256 bytes, then words with and without a leading
// space, numbers, JSON punctuation runs, and CJK characters and their
// fragments, up to n tokens, the last being the end of generation.
func syntheticVocab(n int) ([][]byte, []int32) {
	rng := rand.New(rand.NewPCG(7, 7))
	seen := map[string]bool{}
	var toks [][]byte
	add := func(s string) {
		if !seen[s] && len(toks) < n-1 {
			seen[s] = true
			toks = append(toks, []byte(s))
		}
	}
	for b := range 256 {
		add(string([]byte{byte(b)}))
	}
	for _, s := range []string{`{"`, `":`, `": "`, `",`, `", "`, `"}`, `},`, `[{`, `}]`, `":"`, "\n", "\n ", "\n  ", "    ", `\n`, `\"`, `\u`} {
		add(s)
	}
	letters := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for len(toks) < n-1 {
		switch r := rng.IntN(10); {
		case r < 7:
			w := make([]byte, 1+rng.IntN(9))
			for i := range w {
				w[i] = letters[rng.IntN(26+26*(i/8))]
			}
			if rng.IntN(2) == 0 {
				add(" " + string(w))
			} else {
				add(string(w))
			}
		case r < 8:
			add(fmt.Sprint(rng.IntN(1000)))
		case r < 9:
			s := string(rune(0x4E00 + rng.IntN(0x5000)))
			if rng.IntN(3) == 0 {
				s = s[:1+rng.IntN(2)]
			}
			add(s)
		default:
			p := `{}[],:" .-_`
			b := make([]byte, 2+rng.IntN(3))
			for i := range b {
				b[i] = p[rng.IntN(len(p))]
			}
			add(string(b))
		}
	}
	toks = append(toks, nil) // the end-of-generation control token
	return toks, []int32{int32(len(toks) - 1)}
}

// greedyTokens splits text into tokens of toks by longest match, the way
// a model writing it might.
func greedyTokens(toks [][]byte, text string) []int32 {
	byText := map[string]int32{}
	longest := 0
	for id, t := range toks {
		if len(t) > 0 {
			if _, ok := byText[string(t)]; !ok {
				byText[string(t)] = int32(id)
			}
			longest = max(longest, len(t))
		}
	}
	var ids []int32
	for rest := text; rest != ""; {
		for l := min(longest, len(rest)); l > 0; l-- {
			if id, ok := byText[rest[:l]]; ok {
				ids = append(ids, id)
				rest = rest[l:]
				break
			}
		}
	}
	return ids
}

const benchText = `{"name": "Alice Margaret Smith, who writes long descriptions of everything", "age": 42, "tags": ["engineer", "runner", "reads \"books\"", "café"]}`

// BenchmarkMask is the cost of one token mask over a real-size
// vocabulary along a JSON text: "generation" gives each generation a new
// matcher, so every distinct state pays its trie walk once; "warm"
// reuses one matcher, every mask coming from its cache. ns/mask is the
// figure to compare with a decode step.
func BenchmarkMask(b *testing.B) {
	toks, eog := benchVocab()
	v := grammar.NewVocab(toks, eog)
	ids := greedyTokens(toks, benchText)
	for _, gc := range []struct{ name, src string }{{"json", grammar.JSONGBNFForTest}, {"schema", grammar.SchemaGBNFForTest}} {
		g, err := grammar.Parse(gc.src)
		if err != nil {
			b.Fatal(err)
		}
		if !g.Accepts(benchText) {
			b.Fatalf("%s grammar rejects the benchmark text", gc.name)
		}
		mask := make([]uint64, v.MaskWords())
		run := func(b *testing.B, mt func() *grammar.Matcher) {
			masks := 0
			for b.Loop() {
				m := mt()
				for _, id := range ids {
					m.Allowed(mask)
					if err := m.Accept(id); err != nil {
						b.Fatal(err)
					}
					masks++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(masks), "ns/mask")
			b.ReportMetric(0, "ns/op")
		}
		b.Run(gc.name+"/generation", func(b *testing.B) {
			run(b, func() *grammar.Matcher { return g.NewMatcher(v) })
		})
		b.Run(gc.name+"/warm", func(b *testing.B) {
			m := g.NewMatcher(v)
			for _, id := range ids { // fill the caches first
				m.Allowed(mask)
				m.Accept(id)
			}
			run(b, func() *grammar.Matcher { m.Reset(); return m })
		})
	}
}

// BenchmarkNewVocab is the once-per-model cost of the vocabulary trie.
func BenchmarkNewVocab(b *testing.B) {
	toks, eog := benchVocab()
	for b.Loop() {
		grammar.NewVocab(toks, eog)
	}
}

func TestBenchVocabTokenizesText(t *testing.T) {
	toks, _ := syntheticVocab(5000)
	ids := greedyTokens(toks, benchText)
	var got []byte
	for _, id := range ids {
		got = append(got, toks[id]...)
	}
	if !bytes.Equal(got, []byte(benchText)) {
		t.Fatalf("greedy tokens spell %q", got)
	}
}

// BenchmarkApply is the cost of masking 152k logits from a cached mask:
// after `{` (few tokens allowed, nearly every logit written) and inside
// a string (nearly all allowed).
func BenchmarkApply(b *testing.B) {
	toks, eog := benchVocab()
	v := grammar.NewVocab(toks, eog)
	g, err := grammar.Parse(grammar.SchemaGBNFForTest)
	if err != nil {
		b.Fatal(err)
	}
	logits := make([]float32, len(toks))
	for _, tc := range []struct{ name, prefix string }{{"structural", `{`}, {"string", `{"name": "Al`}} {
		b.Run(tc.name, func(b *testing.B) {
			m := g.NewMatcher(v)
			for _, id := range greedyTokens(toks, tc.prefix) {
				if err := m.Accept(id); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				m.Apply(logits)
			}
		})
	}
}
