package model

import (
	"context"
	"testing"
)

// The tiny models' kernels are the test's plain float64 loops, so these
// measure the forward pass's own overhead (norms, RoPE, attention,
// scheduling) more than matrix speed.

func benchDecode(b *testing.B, v variant, kv KVType) {
	m := newModel(b, v)
	ws, c := newWorkspace(b, m, 1), newCache(b, m, 4096, kv)
	ctx := context.Background()
	tok := []int32{1}
	b.ResetTimer()
	for b.Loop() {
		if c.Len() == c.Cap() {
			c.Reset()
		}
		if _, err := m.Eval(ctx, ws, c, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

func BenchmarkDecodeTinyLlamaF16(b *testing.B) { benchDecode(b, variants()[0], KVF16) }
func BenchmarkDecodeTinyLlamaF32(b *testing.B) { benchDecode(b, variants()[0], KVF32) }
func BenchmarkDecodeTinyQwen3F16(b *testing.B) { benchDecode(b, variants()[6], KVF16) }

func BenchmarkPrefillTinyQwen3(b *testing.B) {
	v := variants()[6]
	m := newModel(b, v)
	ws, c := newWorkspace(b, m, 128), newCache(b, m, 128, KVF16)
	tokens := randomTokens(1, 128, v.vocab)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c.Reset()
		if _, err := m.Eval(ctx, ws, c, tokens); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(tokens))/b.Elapsed().Seconds(), "tok/s")
}
