package engine

import (
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/testmodel"
)

// The tiny models of the engine's tests, in the shapes of the llama.cpp
// oracle's synthetic files.
func tinyQwen2() testmodel.Spec { return tiny("qwen2", quant.F32, 16, true, 1) }
func tinyLlama() testmodel.Spec { return tiny("llama", quant.Q8_0, 16, false, 2) }
func tinyQwen3() testmodel.Spec { return tiny("qwen3", quant.F16, 32, false, 3) }

func tiny(arch string, typ quant.Type, headDim int, tied bool, seed uint64) testmodel.Spec {
	return testmodel.Spec{Arch: arch, Type: typ, Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: headDim,
		FF: 128, Context: 4096, Tied: tied, Seed: seed}
}

const tokImEnd = "<|im_end|>"

func load(t testing.TB, s testmodel.Spec, opts Options) *Engine {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	e, err := Load(testmodel.Write(t, s), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
