// Package testmodel writes tiny random GGUF models for the engine's,
// the embedded driver's and the server's tests: a byte-level BPE
// vocabulary with the ChatML, Llama 3, tool and thinking special tokens,
// any chat template, and a transformer small enough to run thousands of
// tokens a second under the race detector. (engine/synth writes the
// realistic ones; these are smaller and quicker.)
package testmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
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
func WriteFile(path string, s Spec) error {
	s = s.withDefaults()
	if s.WordsOnly && s.Tied {
		return fmt.Errorf("testmodel: WordsOnly needs an untied output")
	}
	tokens, types, merges := Vocabulary()
	vocab := len(tokens)
	w := gguf.NewWriter()
	a := s.Arch
	var err error
	set := func(k string, v any) {
		if err == nil {
			if e := w.Set(k, v); e != nil {
				err = fmt.Errorf("testmodel: Set(%s): %w", k, e)
			}
		}
	}
	set("general.architecture", a)
	set("general.name", "tether test "+a)
	set(a+".context_length", uint32(s.Context))
	set(a+".embedding_length", uint32(s.Embd))
	set(a+".block_count", uint32(s.Layers))
	set(a+".feed_forward_length", uint32(s.FF))
	set(a+".attention.head_count", uint32(s.Heads))
	set(a+".attention.head_count_kv", uint32(s.KVHeads))
	set(a+".attention.layer_norm_rms_epsilon", float32(1e-6))
	set(a+".attention.key_length", uint32(s.HeadDim))
	set(a+".attention.value_length", uint32(s.HeadDim))
	set(a+".rope.dimension_count", uint32(s.HeadDim))
	set(a+".rope.freq_base", float32(1e6))
	set("tokenizer.ggml.model", "gpt2")
	set("tokenizer.ggml.pre", "qwen2")
	set("tokenizer.ggml.tokens", tokens)
	set("tokenizer.ggml.token_type", types)
	set("tokenizer.ggml.merges", merges)
	set("tokenizer.ggml.bos_token_id", TokenID("<|endoftext|>"))
	set("tokenizer.ggml.eos_token_id", TokenID("<|im_end|>"))
	set("tokenizer.ggml.padding_token_id", TokenID("<|endoftext|>"))
	set("tokenizer.ggml.add_bos_token", false)
	set("tokenizer.chat_template", s.Template)

	r := rand.New(rand.NewPCG(s.Seed, 5))
	gauss := func(n int, mean, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*r.NormFloat64())
		}
		return v
	}
	add := func(name string, typ quant.Type, shape []uint64, vals []float32) {
		if err != nil {
			return
		}
		n, e := typ.RowBytes(len(vals))
		if e != nil {
			err = fmt.Errorf("testmodel: %s: %w", name, e)
			return
		}
		data := make([]byte, n)
		if e := quant.Quantize(typ, data, vals); e != nil {
			err = fmt.Errorf("testmodel: %s: %w", name, e)
			return
		}
		if e := w.AddTensor(name, typ, shape, data); e != nil {
			err = fmt.Errorf("testmodel: AddTensor(%s): %w", name, e)
		}
	}
	mat := func(name string, in, out int, std float64) {
		add(name, s.Type, []uint64{uint64(in), uint64(out)}, gauss(in*out, 0, std))
	}
	vec := func(name string, n int, mean, std float64) {
		add(name, quant.F32, []uint64{uint64(n)}, gauss(n, mean, std))
	}
	inv := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	qd, kd := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	mat("token_embd.weight", s.Embd, vocab, 1)
	vec("output_norm.weight", s.Embd, 1, 0.1)
	if !s.Tied {
		out := gauss(s.Embd*vocab, 0, 4*inv(s.Embd))
		if s.WordsOnly {
			for id, tok := range tokens {
				if !lettersOrSpace(tok) {
					clear(out[id*s.Embd : (id+1)*s.Embd])
				}
			}
		}
		add("output.weight", s.Type, []uint64{uint64(s.Embd), uint64(vocab)}, out)
	}
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		vec(p+"attn_norm.weight", s.Embd, 1, 0.1)
		mat(p+"attn_q.weight", s.Embd, qd, inv(s.Embd))
		mat(p+"attn_k.weight", s.Embd, kd, inv(s.Embd))
		mat(p+"attn_v.weight", s.Embd, kd, inv(s.Embd))
		if a == "qwen2" {
			vec(p+"attn_q.bias", qd, 0, 0.5)
			vec(p+"attn_k.bias", kd, 0, 0.5)
			vec(p+"attn_v.bias", kd, 0, 0.5)
		}
		if a == "qwen3" {
			vec(p+"attn_q_norm.weight", s.HeadDim, 1, 0.1)
			vec(p+"attn_k_norm.weight", s.HeadDim, 1, 0.1)
		}
		mat(p+"attn_output.weight", qd, s.Embd, inv(qd))
		vec(p+"ffn_norm.weight", s.Embd, 1, 0.1)
		mat(p+"ffn_gate.weight", s.Embd, s.FF, inv(s.Embd))
		mat(p+"ffn_up.weight", s.Embd, s.FF, inv(s.Embd))
		mat(p+"ffn_down.weight", s.FF, s.Embd, inv(s.FF))
	}
	if err != nil {
		return err
	}
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("testmodel: WriteFile: %w", err)
	}
	return nil
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
