package model

import (
	"errors"
	"math"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

// heapAllocated is the process's cumulative heap allocation in bytes.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// maxCheckBytes bounds what checking or loading one of the small test
// files may allocate: their weights take a few hundred KiB, so a
// dimension taken on trust (2^31 layers of 300 bytes) shows far above it.
const maxCheckBytes = 4 << 20

// TestLoadRefusesAbsurdDimensions loads files whose hyperparameters
// disagree with their tensors, some absurdly: each is a one-line
// *llm.ModelFileError, from Check and from Load alike, found before
// anything proportional to the claimed dimensions is allocated.
func TestLoadRefusesAbsurdDimensions(t *testing.T) {
	llama := variants()[0] // 2 layers, n_embd 64, 4 heads (2 KV) of 16, n_ff 128
	tests := []struct {
		name   string
		breaks func(*ggufSpec)
		want   string
	}{
		{"block_count 2^31-1", func(s *ggufSpec) { s.keys["llama.block_count"] = uint32(math.MaxInt32) },
			"llama.block_count 2147483647 needs at least 19327352825 tensors, the file has 21"},
		{"block_count 1e8", func(s *ggufSpec) { s.keys["llama.block_count"] = uint64(1e8) },
			"llama.block_count 100000000 needs at least 900000002 tensors, the file has 21"},
		{"block_count 2^32 as u64", func(s *ggufSpec) { s.keys["llama.block_count"] = uint64(1 << 32) },
			"llama.block_count is 4294967296, out of range"},
		{"block_count one more than the file", func(s *ggufSpec) { s.keys["llama.block_count"] = uint32(3) },
			"llama.block_count 3 needs at least 29 tensors, the file has 21"},
		{"block_count within the count, a layer missing", func(s *ggufSpec) {
			s.keys["llama.block_count"] = uint32(3)
			for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} { // enough tensors for a third layer's count
				s.extra = append(s.extra, extraTensor{name, quant.F32, []uint64{1}, make([]byte, 4)})
			}
		}, "tensor blk.2.attn_norm.weight is missing"},
		{"head_count inconsistent with attn_q", func(s *ggufSpec) { s.keys["llama.attention.head_count"] = uint32(8) },
			"tensor blk.0.attn_q.weight has shape [64 64], want [64 128]"},
		{"head_count_kv inconsistent with attn_k", func(s *ggufSpec) { s.keys["llama.attention.head_count_kv"] = uint32(4) },
			"tensor blk.0.attn_k.weight has shape [64 32], want [64 64]"},
		{"head_count 2^31-1", func(s *ggufSpec) { s.keys["llama.attention.head_count"] = uint32(math.MaxInt32) },
			"attention.head_count × key_length = 2147483647 × 16 is too large"},
		{"heads × key_length too large", func(s *ggufSpec) {
			s.keys["llama.attention.head_count"] = uint32(1 << 20)
			s.keys["llama.attention.head_count_kv"] = uint32(1 << 20)
			s.keys["llama.attention.key_length"] = uint32(1 << 20)
			s.keys["llama.attention.value_length"] = uint32(1 << 20)
			s.keys["llama.rope.dimension_count"] = uint32(1 << 20)
		}, "attention.head_count × key_length = 1048576 × 1048576 is too large"},
		{"key_length 2^31-1", func(s *ggufSpec) {
			s.keys["llama.attention.key_length"] = uint32(math.MaxInt32)
			s.keys["llama.attention.value_length"] = uint32(math.MaxInt32)
		}, "too large"},
		{"embedding_length 1e9", func(s *ggufSpec) { s.keys["llama.embedding_length"] = uint32(1e9) },
			"tensor token_embd.weight has shape [64 97], want [1000000000 97]"},
		{"feed_forward_length 2^31-1", func(s *ggufSpec) { s.keys["llama.feed_forward_length"] = uint32(math.MaxInt32) },
			"tensor blk.0.ffn_gate.weight has shape [64 128], want [64 2147483647]"},
		{"expert_count", func(s *ggufSpec) { s.keys["llama.expert_count"] = uint32(8) },
			"llama.expert_count is 8: mixture-of-experts models are not supported"},
		{"missing layer tensor", func(s *ggufSpec) { s.skip["blk.1.attn_v.weight"] = true },
			"tensor blk.1.attn_v.weight is missing"},
		{"layer tensor shape", func(s *ggufSpec) {
			s.replace["blk.1.ffn_down.weight"] = func() (quant.Type, []uint64, []byte) {
				return quant.F32, []uint64{128, 64, 1}, make([]byte, 128*64*4)
			}
		}, "tensor blk.1.ffn_down.weight has shape [128 64 1], want [128 64]"},
		{"optional bias shape", func(s *ggufSpec) {
			s.extra = append(s.extra, extraTensor{"blk.1.attn_output.bias", quant.F32, []uint64{32}, make([]byte, 32*4)})
		}, "tensor blk.1.attn_output.bias has shape [32], want [64]"},
		{"vector of an unsupported type", func(s *ggufSpec) {
			s.replace["blk.0.ffn_norm.weight"] = func() (quant.Type, []uint64, []byte) {
				n, _ := quant.IQ4_NL.RowBytes(64)
				return quant.IQ4_NL, []uint64{64}, make([]byte, n)
			}
		}, "tensor blk.0.ffn_norm.weight has type iq4_nl, which is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := llama.spec(quant.F32)
			tt.breaks(&spec)
			path := spec.write(t)
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatalf("gguf.Open: %v", err)
			}
			defer f.Close()
			before := heapAllocated()
			_, checkErr := Check(f)
			m, loadErr := Load(f, Options{Threads: 1})
			allocated := heapAllocated() - before
			if m != nil {
				m.Close()
			}
			for what, err := range map[string]error{"Check": checkErr, "Load": loadErr} {
				var fe *llm.ModelFileError
				switch {
				case err == nil:
					t.Errorf("%s accepted the file", what)
				case !errors.As(err, &fe) || fe.Path != path:
					t.Errorf("%s: %v is not a *llm.ModelFileError naming the file", what, err)
				case !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n"):
					t.Errorf("%s: %q, want one line mentioning %q", what, err, tt.want)
				}
			}
			if allocated > maxCheckBytes {
				t.Errorf("Check and Load allocated %d bytes, want at most %d", allocated, maxCheckBytes)
			}
		})
	}
}

func TestKVCacheBytes(t *testing.T) {
	small := Config{Layers: 2, KVHeads: 2, HeadDimK: 128, HeadDimV: 128}
	if got, want := KVCacheBytes(small, 4096, KVF16), int64(2*2*256*2*4096); got != want {
		t.Errorf("KVCacheBytes(2 layers × 2 heads × 128+128, 4096, f16) = %d, want %d", got, want)
	}
	if got, want := KVCacheBytes(small, 4096, KVF32), int64(2*2*256*4*4096); got != want {
		t.Errorf("f32: %d, want %d", got, want)
	}
	huge := Config{Layers: math.MaxInt32, KVHeads: math.MaxInt32, HeadDimK: math.MaxInt32, HeadDimV: math.MaxInt32}
	if got := KVCacheBytes(huge, math.MaxInt32, KVF16); got != math.MaxInt64 {
		t.Errorf("KVCacheBytes of absurd dimensions = %d, want it saturated at %d", got, int64(math.MaxInt64))
	}
	for _, tc := range []struct {
		factors []int64
		want    int64
	}{
		{[]int64{math.MaxInt64, 1}, math.MaxInt64},
		{[]int64{math.MaxInt64, 2, 0}, 0},
		{[]int64{1 << 32, 1 << 31}, 1<<63 - 1},
		{[]int64{1 << 31, 1 << 31}, 1 << 62},
		{[]int64{5, -1}, 0},
		{nil, 1},
	} {
		if got := MulBytes(tc.factors...); got != tc.want {
			t.Errorf("MulBytes(%v) = %d, want %d", tc.factors, got, tc.want)
		}
	}
}

// TestCheckReadsRopeFactors: the rope_freqs values are configuration,
// so Check refuses bad ones, as Load does.
func TestCheckReadsRopeFactors(t *testing.T) {
	v := variants()[2] // llama3 rope_freqs
	for name, bad := range map[string]float32{"zero": 0, "negative": -1, "NaN": float32(math.NaN())} {
		t.Run(name, func(t *testing.T) {
			spec := v.spec(quant.F32)
			factors := append([]float32(nil), spec.cfg.Rope.Factors...)
			factors[1] = bad
			spec.replace["rope_freqs.weight"] = func() (quant.Type, []uint64, []byte) {
				return quant.F32, []uint64{uint64(len(factors))}, f32Bytes(factors)
			}
			f, err := gguf.Open(spec.write(t))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = Check(f)
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), "rope_freqs[1]") {
				t.Errorf("Check: %v, want a *llm.ModelFileError about rope_freqs[1]", err)
			}
		})
	}
	spec := v.spec(quant.F32)
	f, err := gguf.Open(spec.write(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := Check(f)
	if err != nil || len(cfg.Rope.Factors) != len(spec.cfg.Rope.Factors) || cfg.Rope.Factors[3] != spec.cfg.Rope.Factors[3] {
		t.Errorf("Check: %v, factors %v, want %v", err, cfg.Rope.Factors, spec.cfg.Rope.Factors)
	}
}

// TestWorkspaceBytes compares the estimate with what NewWorkspace
// allocates for a prompt-sized batch, where the activation buffers it
// counts dominate: within a factor of 1.5 either way.
func TestWorkspaceBytes(t *testing.T) {
	for _, v := range variants() {
		m := newModel(t, v)
		for _, batch := range []int{256, 513} {
			// The least of a few tries: other goroutines' allocations
			// only add to the process-wide count.
			allocated := int64(math.MaxInt64)
			for range 3 {
				before := heapAllocated()
				if _, err := m.NewWorkspace(batch); err != nil {
					t.Fatal(err)
				}
				allocated = min(allocated, int64(heapAllocated()-before))
			}
			est := WorkspaceBytes(m.Config(), batch)
			if 2*est > 3*allocated || 3*est < 2*allocated {
				t.Errorf("%s, batch %d: estimate %d bytes, NewWorkspace allocated %d", v.name, batch, est, allocated)
			}
		}
	}
	huge := Config{Embd: math.MaxInt32, Heads: math.MaxInt32, KVHeads: math.MaxInt32, HeadDimK: math.MaxInt32, HeadDimV: math.MaxInt32, FF: math.MaxInt32, Vocab: math.MaxInt32}
	if got := WorkspaceBytes(huge, 1<<20); got != math.MaxInt64 {
		t.Errorf("WorkspaceBytes of absurd dimensions = %d, want it saturated", got)
	}
}
