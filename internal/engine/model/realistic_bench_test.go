package model

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// qwen25Half is Qwen2.5-0.5B's shape (tied embeddings, q/k/v biases).
var qwen25Half = variant{name: "qwen2.5-0.5b", arch: ArchQwen2, embd: 896, heads: 14, kvHeads: 2, headDim: 64, ff: 4864, vocab: 151936, layers: 24, tied: true, biases: true, base: 1000000}

// realistic builds a model of v's shape whose weight matrices are random
// data of type typ, bound through quant's kernels, for timing: random
// weights run exactly as fast as trained ones.
func realistic(b *testing.B, v variant, typ quant.Type) *Model {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	pool := quant.NewPool(0)
	b.Cleanup(pool.Close)
	half := quant.F32ToF16(0.01)
	mat := func(in, out int) *quant.Matrix {
		rowBytes, err := typ.RowBytes(in)
		if err != nil {
			b.Fatal(err)
		}
		data := make([]byte, rowBytes*out)
		switch typ {
		case quant.F32:
			for i := 0; i < len(data); i += 4 {
				binary.LittleEndian.PutUint32(data[i:], math.Float32bits(float32(r.NormFloat64())*0.02))
			}
		case quant.Q8_0:
			for blk := 0; blk < len(data); blk += 34 {
				binary.LittleEndian.PutUint16(data[blk:], half)
				for i := blk + 2; i < blk+34; i++ {
					data[i] = byte(r.Uint32())
				}
			}
		default:
			b.Fatalf("no random data for %s", typ)
		}
		m, err := quant.NewMatrix(typ, out, in, data, pool)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	cfg, _ := variant{name: "shape", arch: v.arch, embd: 8, heads: 1, kvHeads: 1, headDim: 8, ff: 8, vocab: 8, layers: 1, base: v.base}.build(1)
	cfg.Vocab, cfg.Embd, cfg.Layers, cfg.FF = v.vocab, v.embd, v.layers, v.ff
	cfg.Heads, cfg.KVHeads, cfg.HeadDimK, cfg.HeadDimV = v.heads, v.kvHeads, v.headDim, v.headDim
	cfg.Rope.Dims, cfg.AttnScale = v.headDim, float32(1/math.Sqrt(float64(v.headDim)))
	qd, kd := v.heads*v.headDim, v.kvHeads*v.headDim
	emb := mat(v.embd, v.vocab)
	w := Weights{TokenEmbd: emb, Output: emb, OutputNorm: ones(v.embd)}
	for range v.layers {
		l := Layer{
			AttnNorm: ones(v.embd), FFNNorm: ones(v.embd),
			Q: mat(v.embd, qd), K: mat(v.embd, kd), V: mat(v.embd, kd), O: mat(qd, v.embd),
			Gate: mat(v.embd, v.ff), Up: mat(v.embd, v.ff), Down: mat(v.ff, v.embd),
		}
		if v.biases {
			l.QBias, l.KBias, l.VBias = make([]float32, qd), make([]float32, kd), make([]float32, kd)
		}
		w.Layers = append(w.Layers, l)
	}
	m, err := New(cfg, w, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	return m
}

func benchRealisticDecode(b *testing.B, typ quant.Type) {
	m := realistic(b, qwen25Half, typ)
	ws, _ := m.NewWorkspace(64)
	c, _ := m.NewCache(4096, KVF16)
	ctx := context.Background()
	if _, err := m.Eval(ctx, ws, c, randomTokens(1, 32, qwen25Half.vocab)); err != nil {
		b.Fatal(err)
	}
	tok := []int32{42}
	b.ResetTimer()
	for b.Loop() {
		if c.Len() == c.Cap() {
			c.Truncate(32)
		}
		if _, err := m.Eval(ctx, ws, c, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

func benchRealisticPrefill(b *testing.B, typ quant.Type) {
	m := realistic(b, qwen25Half, typ)
	const n = 128
	ws, _ := m.NewWorkspace(n)
	c, _ := m.NewCache(n, KVF16)
	tokens := randomTokens(2, n, qwen25Half.vocab)
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

// Qwen2.5-0.5B-shaped, 24 layers, 151936-token tied output.
func BenchmarkDecodeQwen25HalfQ8_0(b *testing.B)  { benchRealisticDecode(b, quant.Q8_0) }
func BenchmarkDecodeQwen25HalfF32(b *testing.B)   { benchRealisticDecode(b, quant.F32) }
func BenchmarkPrefillQwen25HalfQ8_0(b *testing.B) { benchRealisticPrefill(b, quant.Q8_0) }
