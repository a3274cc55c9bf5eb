// Package testmodel writes tiny random GGUF models for the engine's,
// the embedded driver's and the server's tests: a byte-level BPE
// vocabulary with the ChatML, Llama 3, tool and thinking special tokens,
// any chat template, and a transformer small enough to run thousands of
// tokens a second under the race detector. (engine/synth writes the
// realistic ones; these are smaller and quicker.)
package testmodel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
)

// Spec describes a tiny model. Zero fields take the defaults given.
type Spec struct {
	// Arch is "llama", "qwen2" (default) or "qwen3".
	Arch string
	// Type is the type of the 2-D weights (default F32).
	Type quant.Type
	// Sizes (defaults: 64, 2 layers, 4 heads, 2 KV heads, head size 16,
	// 128, context 4096).
	Embd, Layers, Heads, KVHeads, HeadDim, FF, Context int
	// Tied leaves out output.weight (the output reuses token_embd).
	Tied bool
	Seed uint64
	// Template is the chat template's text (default: plain ChatML).
	Template string
	// Name is the file's stem, which servers use as the model's id
	// (default "tiny-ARCH-TYPE-SEED").
	Name string
	// WordsOnly zeroes the output rows of every token but lower-case
	// letters and the space, so greedy text is visible words and the turn
	// never ends by itself: answers run to max_tokens. It needs an untied
	// output.
	WordsOnly bool
}

// ChatML is a plain ChatML template without tools.
const ChatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// Special tokens, after the 256 bytes and the merges.
var (
	ControlTokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>",
		"<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>"}
	UserTokens = []string{"<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"}
)

// Templates names the official chat templates kept in engine/chat's
// testdata, by the short names tests use.
var Templates = map[string]string{
	"chatml": "chatml.jinja",
	"qwen25": "qwen2.5-7b-instruct.jinja",
	"qwen3":  "qwen3-0.6b.jinja",
	"llama3": "llama-3.2-3b-instruct.jinja",
	"qwq":    "qwen-qwq-32b.jinja",
}

// Template returns the text of a template from Templates.
func Template(t testing.TB, name string) string {
	t.Helper()
	file, ok := Templates[name]
	if !ok {
		t.Fatalf("testmodel: no template %q", name)
	}
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "engine", "chat", "testdata", "templates", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (s Spec) withDefaults() Spec {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if s.Arch == "" {
		s.Arch = "qwen2"
	}
	def(&s.Embd, 64)
	def(&s.Layers, 2)
	def(&s.Heads, 4)
	def(&s.KVHeads, 2)
	def(&s.HeadDim, 16)
	def(&s.FF, 128)
	def(&s.Context, 4096)
	if s.Template == "" {
		s.Template = ChatML
	}
	return s
}

// byteToUnicode is GPT-2's map from bytes to the printable characters
// byte-level BPE vocabularies store them as.
func byteToUnicode() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// Vocabulary returns the tokens, their types and the merges.
func Vocabulary() (tokens []string, types []int32, merges []string) {
	b2u := byteToUnicode()
	for b := range 256 {
		tokens = append(tokens, string(b2u[b]))
		types = append(types, 1)
	}
	sp := string(b2u[' '])
	merges = []string{"h e", "l l", "he ll", sp + " t", "o r", sp + " w", "i n", "t h"}
	for _, m := range merges {
		var l, r string
		fmt.Sscanf(m, "%s %s", &l, &r)
		tokens = append(tokens, l+r)
		types = append(types, 1)
	}
	for _, s := range ControlTokens {
		tokens = append(tokens, s)
		types = append(types, 3)
	}
	for _, s := range UserTokens {
		tokens = append(tokens, s)
		types = append(types, 4)
	}
	return tokens, types, merges
}

// TokenID returns the id of a token of the vocabulary.
func TokenID(s string) uint32 {
	tokens, _, _ := Vocabulary()
	for i, t := range tokens {
		if t == s {
			return uint32(i)
		}
	}
	panic("testmodel: no token " + s)
}

// Write writes the model into the test's temporary directory and returns
// its path.
func Write(t testing.TB, s Spec) string {
	t.Helper()
	s = s.withDefaults()
	path := filepath.Join(t.TempDir(), s.FileName())
	if err := WriteFile(path, s); err != nil {
		t.Fatal(err)
	}
	return path
}

// FileName is the model's file name: its Name, or a name made of its
// architecture, weight type and seed, with the .gguf extension.
func (s Spec) FileName() string {
	s = s.withDefaults()
	if s.Name != "" {
		return s.Name + ".gguf"
	}
	return fmt.Sprintf("tiny-%s-%s-%d.gguf", s.Arch, s.Type, s.Seed)
}

// WriteFile writes the model to path, for programs that are not tests.
// The file is written by engine/synth, tether's one GGUF model writer,
// with this package's vocabulary, template and weights.
func WriteFile(path string, s Spec) error {
	s = s.withDefaults()
	if s.WordsOnly && s.Tied {
		return fmt.Errorf("testmodel: WordsOnly needs an untied output")
	}
	tokens, types, merges := Vocabulary()
	weights := s.weights(tokens)
	endOfText, imEnd := int32(TokenID("<|endoftext|>")), int32(TokenID("<|im_end|>"))
	m, err := synth.New(synth.Options{
		Shape: synth.Shape{
			Name: "test", Arch: s.Arch, Embd: s.Embd, Layers: s.Layers, Heads: s.Heads, KVHeads: s.KVHeads,
			HeadDim: s.HeadDim, FF: s.FF, Context: s.Context, RopeBase: 1e6, RMSEps: 1e-6, Tie: s.Tied,
			Template: synth.TemplateQwen25,
		},
		Type: s.Type,
		Seed: s.Seed,
		Name: "tether test " + s.Arch,
		Vocab: &synth.Vocab{
			Model: "gpt2", Pre: "qwen2", Tokens: tokens, Types: types, Merges: merges,
			BOS: endOfText, EOS: imEnd, PAD: endOfText, EndOfTurn: imEnd, Call: -1,
		},
		Template: s.Template,
		Weights: func(name string, row int, dst []float32) {
			copy(dst, weights[name][row*len(dst):])
		},
	})
	if err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return m.WriteFile(context.Background(), path)
}

// weights draws every tensor's values from one random stream, in a fixed
// order, so a spec always gives the same model.
func (s Spec) weights(tokens []string) map[string][]float32 {
	vocab := len(tokens)
	r := rand.New(rand.NewPCG(s.Seed, 5))
	gauss := func(n int, mean, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*r.NormFloat64())
		}
		return v
	}
	out := map[string][]float32{}
	inv := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	qd, kd := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	out["token_embd.weight"] = gauss(s.Embd*vocab, 0, 1)
	out["output_norm.weight"] = gauss(s.Embd, 1, 0.1)
	if !s.Tied {
		o := gauss(s.Embd*vocab, 0, 4*inv(s.Embd))
		if s.WordsOnly {
			for id, tok := range tokens {
				if !lettersOrSpace(tok) {
					clear(o[id*s.Embd : (id+1)*s.Embd])
				}
			}
		}
		out["output.weight"] = o
	}
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		out[p+"attn_norm.weight"] = gauss(s.Embd, 1, 0.1)
		out[p+"attn_q.weight"] = gauss(s.Embd*qd, 0, inv(s.Embd))
		out[p+"attn_k.weight"] = gauss(s.Embd*kd, 0, inv(s.Embd))
		out[p+"attn_v.weight"] = gauss(s.Embd*kd, 0, inv(s.Embd))
		if s.Arch == "qwen2" {
			out[p+"attn_q.bias"] = gauss(qd, 0, 0.5)
			out[p+"attn_k.bias"] = gauss(kd, 0, 0.5)
			out[p+"attn_v.bias"] = gauss(kd, 0, 0.5)
		}
		if s.Arch == "qwen3" {
			out[p+"attn_q_norm.weight"] = gauss(s.HeadDim, 1, 0.1)
			out[p+"attn_k_norm.weight"] = gauss(s.HeadDim, 1, 0.1)
		}
		out[p+"attn_output.weight"] = gauss(qd*s.Embd, 0, inv(qd))
		out[p+"ffn_norm.weight"] = gauss(s.Embd, 1, 0.1)
		out[p+"ffn_gate.weight"] = gauss(s.Embd*s.FF, 0, inv(s.Embd))
		out[p+"ffn_up.weight"] = gauss(s.Embd*s.FF, 0, inv(s.Embd))
		out[p+"ffn_down.weight"] = gauss(s.FF*s.Embd, 0, inv(s.FF))
	}
	return out
}

// lettersOrSpace reports whether a vocabulary entry is made of lower-case
// letters and spaces (written Ġ, byte-level BPE's space).
func lettersOrSpace(tok string) bool {
	for _, r := range tok {
		if (r < 'a' || r > 'z') && r != 'Ġ' {
			return false
		}
	}
	return tok != ""
}
