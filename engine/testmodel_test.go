package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/quant"
)

// tinySpec describes a random model with a byte-level BPE vocabulary, in
// the shapes of the llama.cpp oracle's synthetic files.
type tinySpec struct {
	arch    string
	typ     quant.Type
	embd    int
	layers  int
	heads   int
	kvHeads int
	headDim int
	ff      int
	ctx     int
	tied    bool
	seed    uint64
}

func tinyQwen2() tinySpec {
	return tinySpec{arch: "qwen2", typ: quant.F32, embd: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ff: 128, ctx: 4096, tied: true, seed: 1}
}

func tinyLlama() tinySpec {
	return tinySpec{arch: "llama", typ: quant.Q8_0, embd: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ff: 128, ctx: 4096, seed: 2}
}

func tinyQwen3() tinySpec {
	return tinySpec{arch: "qwen3", typ: quant.F16, embd: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 32, ff: 128, ctx: 4096, seed: 3}
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

// Special tokens of the tiny vocabulary, after the 256 bytes and the
// merges.
const (
	tokEndOfText = "<|endoftext|>"
	tokImStart   = "<|im_start|>"
	tokImEnd     = "<|im_end|>"
)

const chatMLTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// vocabulary returns the tokens, their types and merges.
func vocabulary() ([]string, []int32, []string) {
	b2u := byteToUnicode()
	var tokens []string
	var types []int32
	for b := range 256 {
		tokens = append(tokens, string(b2u[b]))
		types = append(types, 1)
	}
	sp := string(b2u[' '])
	merges := []string{"h e", "l l", "he ll", sp + " t", "o r", sp + " w", "i n", "t h"}
	for _, m := range merges {
		var l, r string
		fmt.Sscanf(m, "%s %s", &l, &r)
		tokens = append(tokens, l+r)
		types = append(types, 1)
	}
	for _, s := range []string{tokEndOfText, tokImStart, tokImEnd} {
		tokens = append(tokens, s)
		types = append(types, 3)
	}
	for _, s := range []string{"<think>", "</think>"} {
		tokens = append(tokens, s)
		types = append(types, 4)
	}
	return tokens, types, merges
}

func tokenID(tokens []string, s string) uint32 {
	for i, t := range tokens {
		if t == s {
			return uint32(i)
		}
	}
	panic("no token " + s)
}

// write writes the model to a file in the test's temporary directory.
func (s tinySpec) write(t testing.TB) string {
	t.Helper()
	tokens, types, merges := vocabulary()
	vocab := len(tokens)
	w := gguf.NewWriter()
	a := s.arch
	set := func(k string, v any) {
		if err := w.Set(k, v); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	set("general.architecture", a)
	set("general.name", "tether tiny "+a)
	set(a+".context_length", uint32(s.ctx))
	set(a+".embedding_length", uint32(s.embd))
	set(a+".block_count", uint32(s.layers))
	set(a+".feed_forward_length", uint32(s.ff))
	set(a+".attention.head_count", uint32(s.heads))
	set(a+".attention.head_count_kv", uint32(s.kvHeads))
	set(a+".attention.layer_norm_rms_epsilon", float32(1e-6))
	set(a+".attention.key_length", uint32(s.headDim))
	set(a+".attention.value_length", uint32(s.headDim))
	set(a+".rope.dimension_count", uint32(s.headDim))
	set(a+".rope.freq_base", float32(1e6))
	set("tokenizer.ggml.model", "gpt2")
	set("tokenizer.ggml.pre", "qwen2")
	set("tokenizer.ggml.tokens", tokens)
	set("tokenizer.ggml.token_type", types)
	set("tokenizer.ggml.merges", merges)
	set("tokenizer.ggml.bos_token_id", tokenID(tokens, tokEndOfText))
	set("tokenizer.ggml.eos_token_id", tokenID(tokens, tokImEnd))
	set("tokenizer.ggml.padding_token_id", tokenID(tokens, tokEndOfText))
	set("tokenizer.ggml.add_bos_token", false)
	set("tokenizer.chat_template", chatMLTemplate)

	r := rand.New(rand.NewPCG(s.seed, 5))
	gauss := func(n int, mean, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*r.NormFloat64())
		}
		return v
	}
	add := func(name string, typ quant.Type, shape []uint64, vals []float32) {
		n, err := typ.RowBytes(len(vals))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data := make([]byte, n)
		if err := quant.Quantize(typ, data, vals); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := w.AddTensor(name, typ, shape, data); err != nil {
			t.Fatalf("AddTensor(%s): %v", name, err)
		}
	}
	mat := func(name string, in, out int, std float64) {
		add(name, s.typ, []uint64{uint64(in), uint64(out)}, gauss(in*out, 0, std))
	}
	vec := func(name string, n int, mean, std float64) {
		add(name, quant.F32, []uint64{uint64(n)}, gauss(n, mean, std))
	}
	inv := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	qd, kd := s.heads*s.headDim, s.kvHeads*s.headDim
	mat("token_embd.weight", s.embd, vocab, 1)
	vec("output_norm.weight", s.embd, 1, 0.1)
	if !s.tied {
		mat("output.weight", s.embd, vocab, 4*inv(s.embd))
	}
	for i := range s.layers {
		p := fmt.Sprintf("blk.%d.", i)
		vec(p+"attn_norm.weight", s.embd, 1, 0.1)
		mat(p+"attn_q.weight", s.embd, qd, inv(s.embd))
		mat(p+"attn_k.weight", s.embd, kd, inv(s.embd))
		mat(p+"attn_v.weight", s.embd, kd, inv(s.embd))
		if a == "qwen2" {
			vec(p+"attn_q.bias", qd, 0, 0.5)
			vec(p+"attn_k.bias", kd, 0, 0.5)
			vec(p+"attn_v.bias", kd, 0, 0.5)
		}
		if a == "qwen3" {
			vec(p+"attn_q_norm.weight", s.headDim, 1, 0.1)
			vec(p+"attn_k_norm.weight", s.headDim, 1, 0.1)
		}
		mat(p+"attn_output.weight", qd, s.embd, inv(qd))
		vec(p+"ffn_norm.weight", s.embd, 1, 0.1)
		mat(p+"ffn_gate.weight", s.embd, s.ff, inv(s.embd))
		mat(p+"ffn_up.weight", s.embd, s.ff, inv(s.embd))
		mat(p+"ffn_down.weight", s.ff, s.embd, inv(s.ff))
	}
	path := filepath.Join(t.TempDir(), s.arch+".gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	return path
}

func load(t testing.TB, s tinySpec, opts Options) *Engine {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	e, err := Load(s.write(t), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
