package serve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/quant"
)

// A tiny random qwen2 model with a byte-level BPE vocabulary and the
// ChatML, tool and thinking special tokens, written with the chat
// template a test asks for.

// templates are chat templates of the engine's golden tests.
var templates = map[string]string{
	"chatml": "chatml.jinja",
	"qwen25": "qwen2.5-7b-instruct.jinja",
	"qwen3":  "qwen3-0.6b.jinja",
	"llama3": "llama-3.2-3b-instruct.jinja",
	"qwq":    "qwen-qwq-32b.jinja",
}

func templateText(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "engine", "chat", "testdata", "templates", templates[name]))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

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

var (
	controlTokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>"}
	userTokens    = []string{"<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"}
)

func vocabulary() (tokens []string, types []int32, merges []string) {
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
	for _, s := range controlTokens {
		tokens = append(tokens, s)
		types = append(types, 3)
	}
	for _, s := range userTokens {
		tokens = append(tokens, s)
		types = append(types, 4)
	}
	return tokens, types, merges
}

func tokenIndex(tokens []string, s string) uint32 {
	for i, t := range tokens {
		if t == s {
			return uint32(i)
		}
	}
	panic("no token " + s)
}

// writeModel writes the tiny model with the named template and returns
// its path.
func writeModel(t testing.TB, template string) string {
	t.Helper()
	tokens, types, merges := vocabulary()
	w := gguf.NewWriter()
	set := func(k string, v any) {
		if err := w.Set(k, v); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	const (
		a                           = "qwen2"
		embd, layers, heads, kv, hd = 64, 2, 4, 2, 16
		ff                          = 128
	)
	set("general.architecture", a)
	set("general.name", "tether test "+template)
	set(a+".context_length", uint32(4096))
	set(a+".embedding_length", uint32(embd))
	set(a+".block_count", uint32(layers))
	set(a+".feed_forward_length", uint32(ff))
	set(a+".attention.head_count", uint32(heads))
	set(a+".attention.head_count_kv", uint32(kv))
	set(a+".attention.layer_norm_rms_epsilon", float32(1e-6))
	set(a+".rope.freq_base", float32(1e6))
	set("tokenizer.ggml.model", "gpt2")
	set("tokenizer.ggml.pre", "qwen2")
	set("tokenizer.ggml.tokens", tokens)
	set("tokenizer.ggml.token_type", types)
	set("tokenizer.ggml.merges", merges)
	set("tokenizer.ggml.bos_token_id", tokenIndex(tokens, "<|endoftext|>"))
	set("tokenizer.ggml.eos_token_id", tokenIndex(tokens, "<|im_end|>"))
	set("tokenizer.ggml.add_bos_token", false)
	set("tokenizer.chat_template", templateText(t, template))

	r := rand.New(rand.NewPCG(7, 5))
	add := func(name string, shape []uint64, vals []float32) {
		data := make([]byte, 4*len(vals))
		if err := quant.Quantize(quant.F32, data, vals); err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(name, quant.F32, shape, data); err != nil {
			t.Fatal(err)
		}
	}
	gauss := func(n int, mean, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*r.NormFloat64())
		}
		return v
	}
	mat := func(name string, in, out int, std float64) {
		add(name, []uint64{uint64(in), uint64(out)}, gauss(in*out, 0, std))
	}
	vec := func(name string, n int, mean, std float64) { add(name, []uint64{uint64(n)}, gauss(n, mean, std)) }
	inv := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	mat("token_embd.weight", embd, len(tokens), 1)
	vec("output_norm.weight", embd, 1, 0.1)
	// The output rows of every token but lower-case letters and the space
	// are zero, so that greedy text is visible words and the turn never
	// ends by itself: answers run to max_tokens.
	out := gauss(embd*len(tokens), 0, 4*inv(embd))
	for id, tok := range tokens {
		if !lettersOrSpace(tok) {
			clear(out[id*embd : (id+1)*embd])
		}
	}
	add("output.weight", []uint64{uint64(embd), uint64(len(tokens))}, out)
	for i := range layers {
		p := fmt.Sprintf("blk.%d.", i)
		vec(p+"attn_norm.weight", embd, 1, 0.1)
		mat(p+"attn_q.weight", embd, heads*hd, inv(embd))
		mat(p+"attn_k.weight", embd, kv*hd, inv(embd))
		mat(p+"attn_v.weight", embd, kv*hd, inv(embd))
		vec(p+"attn_q.bias", heads*hd, 0, 0.5)
		vec(p+"attn_k.bias", kv*hd, 0, 0.5)
		vec(p+"attn_v.bias", kv*hd, 0, 0.5)
		mat(p+"attn_output.weight", heads*hd, embd, inv(heads*hd))
		vec(p+"ffn_norm.weight", embd, 1, 0.1)
		mat(p+"ffn_gate.weight", embd, ff, inv(embd))
		mat(p+"ffn_up.weight", embd, ff, inv(embd))
		mat(p+"ffn_down.weight", ff, embd, inv(ff))
	}
	path := filepath.Join(t.TempDir(), "tiny-"+template+".gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
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
