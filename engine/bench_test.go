package engine

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tetherllm/tether/engine/grammar"
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

// BenchmarkConstrainedDecode decodes on a model of a real shape (the
// qwen2.5-0.5b Q8_0 file tether bench writes, or TETHER_BENCH_MODEL)
// free and under the JSON object grammar, side by side: the difference
// per token is what the grammar's mask costs beside a decode step. The
// grammar's text runs through its string state, as a long JSON value
// does. Skipped when the file is absent.
func BenchmarkConstrainedDecode(b *testing.B) {
	path := os.Getenv("TETHER_BENCH_MODEL")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache", "tether", "bench", "qwen2.5-0.5b-q8_0.gguf")
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("no model of a real shape: %v (run tether bench once, or set TETHER_BENCH_MODEL)", err)
	}
	e, err := Load(path, Options{ContextLength: 512, Threads: runtime.NumCPU()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	g, err := grammar.Parse(`root ::= "{\"text\": \"" [a-z ]* "\"}"`)
	if err != nil {
		b.Fatal(err)
	}
	e.grammarVocab() // built once per engine, before the first constrained request
	// The two runs alternate, so that both see the same machine.
	var tokens, ms [2]float64
	for b.Loop() {
		for i, gr := range []*grammar.Grammar{nil, g} {
			r, err := e.Complete(context.Background(), Request{Tokens: []int32{1, 2, 3, 4}, MaxTokens: 32, IgnoreEOG: true, Grammar: gr})
			if err != nil {
				b.Fatal(err)
			}
			tokens[i] += float64(r.Summary.Timings.GeneratedTokens)
			ms[i] += r.Summary.Timings.GenerationMS
		}
	}
	free, constrained := ms[0]/tokens[0], ms[1]/tokens[1]
	b.ReportMetric(free, "free-ms/token")
	b.ReportMetric(constrained, "grammar-ms/token")
	b.ReportMetric(100*(constrained-free)/free, "%-extra")
	b.ReportMetric(0, "ns/op")
}
