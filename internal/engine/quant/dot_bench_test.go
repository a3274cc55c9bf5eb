package quant

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDot times one kernel on one row of 4864 elements, without
// the pool: the per-element cost of each type's dot product.
func BenchmarkDot(b *testing.B) {
	const n = 4864
	for _, typ := range testTypes {
		b.Run(typ.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			rb, _ := typ.RowBytes(n)
			const rows = 64 // several rows so the data is not all in L1
			w := make([]byte, rows*rb)
			for r := 0; r < rows; r++ {
				Quantize(typ, w[r*rb:(r+1)*rb], gaussRow(rng, n, 0.05))
			}
			vt, _ := typ.VecDotType()
			var v Vector
			v.Quantize(vt, gaussRow(rng, n, 1))
			dot := kernels[typ].dot
			b.SetBytes(int64(rb))
			b.ResetTimer()
			var s float32
			r := 0
			for b.Loop() {
				s += dot(w[r*rb:(r+1)*rb], &v)
				r = (r + 1) % rows
			}
			_ = s
		})
	}
}
