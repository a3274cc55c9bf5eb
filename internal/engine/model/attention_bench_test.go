package model

import (
	"context"
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// qwen25Half4 is qwen2.5-0.5b's layer shape with 4 of its 24 layers, so
// that long prompts stay quick to time: attention's share of a layer is
// the model's.
var qwen25Half4 = func() variant { v := qwen25Half; v.layers = 4; return v }()

// benchLongPrefill times a prompt of n tokens, in batches of 512 as a
// server would run it.
func benchLongPrefill(b *testing.B, n int) {
	m := realistic(b, qwen25Half4, quant.Q8_0)
	ws, _ := m.NewWorkspace(512)
	c, _ := m.NewCache(n, KVF16)
	tokens := randomTokens(2, n, qwen25Half4.vocab)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c.Reset()
		if _, err := m.Eval(ctx, ws, c, tokens); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tok/s")
}

// benchLongDecode times decoding after a prompt of ctxLen tokens.
func benchLongDecode(b *testing.B, ctxLen int) {
	m := realistic(b, qwen25Half4, quant.Q8_0)
	ws, _ := m.NewWorkspace(512)
	c, _ := m.NewCache(ctxLen+256, KVF16)
	ctx := context.Background()
	if _, err := m.Eval(ctx, ws, c, randomTokens(1, ctxLen, qwen25Half4.vocab)); err != nil {
		b.Fatal(err)
	}
	tok := []int32{42}
	b.ResetTimer()
	for b.Loop() {
		if c.Len() == c.Cap() {
			c.Truncate(ctxLen)
		}
		if _, err := m.Eval(ctx, ws, c, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

// Qwen2.5-0.5B layers (4 of them), Q8_0 weights, F16 cache.
func BenchmarkPrefill512Qwen25Half4(b *testing.B)    { benchLongPrefill(b, 512) }
func BenchmarkPrefill2048Qwen25Half4(b *testing.B)   { benchLongPrefill(b, 2048) }
func BenchmarkDecodeCtx4096Qwen25Half4(b *testing.B) { benchLongDecode(b, 4096) }
