package engine

import (
	"context"
	"testing"
)

// BenchmarkGenerateTiny measures end-to-end decoding through the
// scheduler on the tiny Q8_0 llama: the engine's own overhead per token.
func BenchmarkGenerateTiny(b *testing.B) {
	e := load(b, tinyLlama(), Options{ContextLength: 4096})
	req := Request{Text: prompt, MaxTokens: 256, IgnoreEOG: true}
	tokens := 0
	b.ResetTimer()
	for b.Loop() {
		r, err := e.Complete(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(r.Tokens)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}
