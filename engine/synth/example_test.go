package synth_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/synth"
)

// A tiny Qwen3-shaped model with Q8_0 weights, written and read back.
func Example() {
	dir, err := os.MkdirTemp("", "synth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	shape, err := synth.Tiny(synth.ArchQwen3)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.gguf")
	if _, err := synth.Write(context.Background(), path, synth.Options{Shape: shape, Type: gguf.Q8_0, Seed: 1}); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	arch, _ := f.Architecture()
	layers, _ := gguf.ArchGet[uint32](f, "block_count")
	fmt.Println(arch, layers, "layers")
	for _, name := range []string{"token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight"} {
		t, _ := f.TensorInfo(name)
		fmt.Println(t.Name, t.Type, t.Shape)
	}
	// Output:
	// qwen3 2 layers
	// token_embd.weight q8_0 [256 634]
	// blk.0.attn_q.weight q8_0 [256 512]
	// blk.0.attn_norm.weight f32 [256]
}
