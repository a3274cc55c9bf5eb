package model

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

func seedBytes(t testing.TB, s ggufSpec) []byte {
	var buf bytes.Buffer
	if _, err := s.writer(t).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

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
		if v.name == "llama" {
			// Headers that claim far more than the file holds.
			spec.keys["llama.block_count"] = uint32(math.MaxInt32)
			f.Add(seedBytes(f, spec))
			spec.keys["llama.block_count"] = uint64(1e8)
			spec.keys["llama.feed_forward_length"] = uint32(1e9)
			f.Add(seedBytes(f, spec))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := gguf.Parse(data)
		if err != nil {
			return
		}
		before := heapAllocated()
		m, err := Load(file, Options{Threads: 1})
		// Load allocates the norms and biases it dequantises (at most
		// 4 bytes an element from ~0.3 for the smallest types) and a few
		// hundred bytes a tensor, all in proportion to the file: never
		// to what the header claims.
		if allocated, bound := heapAllocated()-before, 64*uint64(len(data))+4<<20; allocated > bound {
			t.Fatalf("Load allocated %d bytes for a %d-byte file (bound %d), err %v", allocated, len(data), bound, err)
		}
		if err != nil {
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Load: %q is not a one-line *llm.ModelFileError", err)
			}
			return
		}
		defer m.Close()
		cfg := m.Config()
		if MulBytes(int64(cfg.Embd), int64(cfg.Layers), int64(cfg.FF)) > 1<<22 || KVCacheBytes(cfg, 4, KVF16) > 1<<24 {
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
