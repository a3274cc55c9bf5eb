package model

import (
	"bytes"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/quant"
)

// FuzzLoad feeds arbitrary files to Load: it must return a model or an
// error, never panic, and a model it returns must run.
func FuzzLoad(f *testing.F) {
	// Small seeds: the fuzzer slows down a lot on inputs of many KiB.
	seeds := []variant{
		{name: "llama", arch: ArchLlama, embd: 8, heads: 2, kvHeads: 1, headDim: 4, ff: 8, vocab: 5, layers: 1, base: 10000},
		{name: "llama3", arch: ArchLlama, embd: 8, heads: 2, kvHeads: 2, headDim: 4, ff: 4, vocab: 3, layers: 1, base: 500000, factors: true, oBias: true},
		{name: "qwen2", arch: ArchQwen2, embd: 8, heads: 2, kvHeads: 1, headDim: 4, ff: 8, vocab: 4, layers: 1, tied: true, biases: true, base: 1e6},
		{name: "qwen3", arch: ArchQwen3, embd: 8, heads: 2, kvHeads: 1, headDim: 8, ff: 8, vocab: 4, layers: 1, qkNorm: true, base: 1e6, yarn: 2},
	}
	for _, v := range seeds {
		spec := v.spec(quant.F32)
		spec.cfg.Vocab = 0
		var buf bytes.Buffer
		if _, err := spec.writer(f).WriteTo(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := gguf.Parse(data)
		if err != nil {
			return
		}
		m, err := Load(file, Options{Threads: 1})
		if err != nil {
			return
		}
		defer m.Close()
		cfg := m.Config()
		if cfg.Embd*cfg.Layers*cfg.FF > 1<<22 {
			return // too big to run in a fuzz iteration
		}
		ws, err := m.NewWorkspace(2)
		if err != nil {
			t.Fatal(err)
		}
		c, err := m.NewCache(4, KVF16)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := m.Eval(t.Context(), ws, c, []int32{0, int32(cfg.Vocab - 1)})
		if err != nil || len(logits) != cfg.Vocab {
			t.Fatalf("Eval on a loaded model: %d logits, %v", len(logits), err)
		}
	})
}
