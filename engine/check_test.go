package engine

import (
	"bytes"
	"errors"
	"math"
	"os"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
)

func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// checkAllocBound is the most Check may allocate for a file of n bytes:
// the tokenizer's tables and the model's small vectors grow with what the
// file holds, never with what its header claims.
func checkAllocBound(n int) uint64 { return 64*uint64(n) + 4<<20 }

// retitle copies a GGUF file with some keys set.
func retitle(t testing.TB, data []byte, keys map[string]any) []byte {
	t.Helper()
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	for _, kv := range f.KVs() {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range keys {
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors() {
		tensor, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(ti.Name, ti.Type, ti.Shape, tensor.Data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoadChecksBeforeAllocating loads files whose headers claim absurd
// sizes: Load refuses each with Check's one-line *llm.ModelFileError, and
// allocates no more than for a good file.
func TestLoadChecksBeforeAllocating(t *testing.T) {
	good, err := os.ReadFile(testmodel.Write(t, tinyQwen2()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keys map[string]any
		want string
	}{
		{"block_count 2^31-1", map[string]any{"qwen2.block_count": uint32(math.MaxInt32)}, "qwen2.block_count 2147483647 needs at least"},
		{"block_count 1e8", map[string]any{"qwen2.block_count": uint64(1e8)}, "qwen2.block_count 100000000 needs at least"},
		{"embedding_length 2^31-1", map[string]any{"qwen2.embedding_length": uint32(math.MaxInt32)}, "tensor token_embd.weight has shape"},
		{"feed_forward_length 1e9", map[string]any{"qwen2.feed_forward_length": uint32(1e9)}, "tensor blk.0.ffn_gate.weight has shape"},
		{"head_count_kv 2^31-1", map[string]any{"qwen2.attention.head_count_kv": uint32(math.MaxInt32)}, "is too large"},
		{"context_length 2^31-1 with a bad layer count", map[string]any{"qwen2.context_length": uint32(math.MaxInt32), "qwen2.block_count": uint32(1 << 30)}, "needs at least"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/bad.gguf"
			data := retitle(t, good, tc.keys)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			before := heapAllocated()
			e, err := Load(path, Options{Threads: 1})
			allocated := heapAllocated() - before
			if e != nil {
				e.Close()
				t.Fatal("Load accepted the file")
			}
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) || fe.Path != path || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Load: %v; want a one-line *llm.ModelFileError naming the file, mentioning %q", err, tc.want)
			}
			if bound := checkAllocBound(len(data)); allocated > bound {
				t.Errorf("Load allocated %d bytes for a %d-byte file, want at most %d", allocated, len(data), bound)
			}
		})
	}
}

// TestCheckAgreesWithLoad: a file Check passes loads, and its Config is
// the loaded model's.
func TestCheckAgreesWithLoad(t *testing.T) {
	path := testmodel.Write(t, tinyQwen3())
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chk, err := Check(f)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	e := load(t, tinyQwen3(), Options{})
	if got, want := chk.Config, e.model.Config(); got.Layers != want.Layers || got.Embd != want.Embd || got.Vocab != want.Vocab || got.HeadDimK != want.HeadDimK {
		t.Errorf("Check's config %+v, the loaded model's %+v", got, want)
	}
	if chk.Tokenizer.NumTokens() != e.tok.NumTokens() || chk.Meta.ChatTemplate == "" {
		t.Errorf("Check's tokenizer has %d tokens, the engine's %d; template %d bytes", chk.Tokenizer.NumTokens(), e.tok.NumTokens(), len(chk.Meta.ChatTemplate))
	}
}

// FuzzCheck runs arbitrary GGUF data through the checks serve's load
// runs, then, for a file they pass, through the whole build. Nothing may
// panic; Check may allocate only in proportion to the file (a header's
// claims are checked before anything is sized by them); refusals are
// one-line *llm.ModelFileErrors. The build is capped by the dimensions
// Check vouched for, as a fuzz iteration must stay small.
func FuzzCheck(f *testing.F) {
	small := testmodel.Spec{Embd: 8, Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 4, FF: 8, Context: 64, Tied: true, Template: "{{ messages }}"}
	for _, arch := range []string{"qwen2", "llama", "qwen3"} {
		s := small
		s.Arch = arch
		data, err := os.ReadFile(testmodel.Write(f, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if arch == "qwen2" {
			f.Add(retitle(f, data, map[string]any{"qwen2.block_count": uint32(math.MaxInt32)}))
			f.Add(retitle(f, data, map[string]any{"qwen2.block_count": uint64(1e8), "qwen2.embedding_length": uint32(1e9)}))
			f.Add(retitle(f, data, map[string]any{"qwen2.attention.head_count": uint32(3)}))
			f.Add(retitle(f, data, map[string]any{"qwen2.rope.freq_base": float32(math.NaN())}))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := gguf.Parse(data)
		if err != nil {
			return
		}
		before := heapAllocated()
		chk, err := Check(file)
		if allocated, bound := heapAllocated()-before, checkAllocBound(len(data)); allocated > bound {
			t.Fatalf("Check allocated %d bytes for a %d-byte file (bound %d), err %v", allocated, len(data), bound, err)
		}
		if err != nil {
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Check: %q is not a one-line *llm.ModelFileError", err)
			}
			return
		}
		const ctx = 16
		if model.KVCacheBytes(chk.Config, ctx, model.KVF16) > 16<<20 || model.MulBytes(int64(chk.Config.Layers), int64(chk.Config.Embd), int64(chk.Config.FF)) > 1<<22 {
			return
		}
		e, err := build(file.Path(), file, Options{Threads: 1, ContextLength: ctx})
		if err != nil {
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) {
				t.Fatalf("build after Check: %v", err)
			}
			return
		}
		e.sched.close()
		e.model.Close()
	})
}

// TestLoadRefusesCachesBeyondMemory asks for 1024 slots of 2^22 tokens
// of a tiny model, a terabyte of KV cache: Load refuses before allocating
// it, as a one-line *llm.ModelFileError.
func TestLoadRefusesCachesBeyondMemory(t *testing.T) {
	have, ok := physicalMemory()
	if !ok {
		t.Skip("this platform's memory size is not known")
	}
	spec := tinyQwen2()
	opts := Options{Threads: 1, Parallel: 1024, ContextLength: model.MaxCacheTokens}
	// 2 layers × 2 KV heads × (16+16) × 2 bytes a token.
	need := int64(opts.Parallel) * int64(opts.ContextLength) * 2 * 2 * 32 * 2
	if need <= have {
		t.Skipf("this machine has %d bytes of memory, enough for %d", have, need)
	}
	path := testmodel.Write(t, spec)
	before := heapAllocated()
	e, err := Load(path, opts)
	allocated := heapAllocated() - before
	if e != nil {
		e.Close()
		t.Fatal("Load accepted a cache larger than memory")
	}
	var fe *llm.ModelFileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "more than this machine's") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Load: %v; want a one-line *llm.ModelFileError about memory", err)
	}
	if allocated > 64<<20 {
		t.Errorf("Load allocated %d bytes before refusing", allocated)
	}
}
