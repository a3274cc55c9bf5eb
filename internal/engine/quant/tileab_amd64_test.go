//go:build linux && !purego

package quant

import (
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

// tileBaselines are earlier micro-kernels of the AVX2 tier, kept for
// TestTileAB to compare the active ones against.
var tileBaselines = map[Type]tileFunc{
	Q4_0: tileQ4_0AVX2x2,
	F32:  tileF32AVX2x2,
	F16:  tileF16AVX2x2,
	BF16: tileBF16AVX2x2,
	Q4_K: func(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
		tileKAVX2x2(Q4_K, dst, ldd, w, rowBytes, rows, vs)
	},
	Q6_K: func(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
		tileKAVX2x2(Q6_K, dst, ldd, w, rowBytes, rows, vs)
	},
}

// TestTileAB times, per type with a baseline, the AVX2 tier's tile
// against its baseline on a tile that fits the caches (16 weight rows by
// 16 activation rows, rows of 896 (1024 for the K-quants) and 4864
// elements), alternating the
// two, and reports CPU time as multiply-adds per nanosecond per thread.
// Set TETHER_KERNEL_TIMES=1 to run it; TETHER_AB_TYPES limits the types.
func TestTileAB(t *testing.T) {
	if os.Getenv("TETHER_KERNEL_TIMES") == "" {
		t.Skip("set TETHER_KERNEL_TIMES=1")
	}
	withTier(t, "avx2", func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for _, typ := range testTypes {
			base, ok := tileBaselines[typ]
			if !ok {
				continue
			}
			if s := os.Getenv("TETHER_AB_TYPES"); s != "" && !slices.Contains(splitComma(s), typ.String()) {
				continue
			}
			for _, n := range []int{896, 4864} {
				if n%typ.BlockSize() != 0 {
					n = 1024
				}
				const rows, nv = 16, 16
				rng := rand.New(rand.NewPCG(1, 1))
				rb, _ := typ.RowBytes(n)
				w := make([]byte, rows*rb)
				for r := 0; r < rows; r++ {
					Quantize(typ, w[r*rb:(r+1)*rb], gaussRow(rng, n, 0.05))
				}
				vt, _ := typ.VecDotType()
				vs := make([]Vector, nv)
				for i := range vs {
					vs[i].Quantize(vt, gaussRow(rng, n, 1))
				}
				dst := make([]float32, rows*nv)
				fs := []tileFunc{base, kernels[typ].tile}
				times := make([][]time.Duration, len(fs))
				reps := max(1, 20*4864/n)
				for rep := 0; rep < 15; rep++ {
					for i, f := range fs {
						start := threadCPU()
						for range reps {
							f(dst, rows, w, rb, rows, vs)
						}
						times[i] = append(times[i], threadCPU()-start)
					}
				}
				var rate [2]float64
				for i := range fs {
					slices.Sort(times[i])
					rate[i] = float64(reps*rows*nv*n) / float64(times[i][len(times[i])/2].Nanoseconds())
				}
				t.Logf("%-5s n=%-5d before %.2f, after %.2f G multiply-adds/s (×%.2f)", typ, n, rate[0], rate[1], rate[1]/rate[0])
			}
		}
	})
}

func splitComma(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// tileKAVX2x2 is tileKAVX2 with the 2×2 kernels only.
func tileKAVX2x2(typ Type, dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	dot, size := dotQ4_KAVX2, 144
	if typ == Q6_K {
		dot, size = dotQ6_KAVX2, 210
	}
	nb := rowBytes / size
	var out [4]float32
	r := 0
	for ; r+2 <= rows; r += 2 {
		row := w[r*rowBytes:]
		c := 0
		for ; c+2 <= len(vs); c += 2 {
			q0, d0, bs0 := q8K(&vs[c], nb)
			q1, d1, bs1 := q8K(&vs[c+1], nb)
			if typ == Q6_K {
				tileQ6_KQ8_KAVX2(&row[0], rowBytes, q0, q1, d0, d1, bs0, bs1, nb, &out)
			} else {
				tileQ4_KQ8_KAVX2(&row[0], rowBytes, q0, q1, d0, d1, bs0, bs1, nb, &out)
			}
			dst[c*ldd+r], dst[(c+1)*ldd+r] = out[0], out[1]
			dst[c*ldd+r+1], dst[(c+1)*ldd+r+1] = out[2], out[3]
		}
		for ; c < len(vs); c++ {
			dst[c*ldd+r] = dot(row[:rowBytes], &vs[c])
			dst[c*ldd+r+1] = dot(row[rowBytes:2*rowBytes], &vs[c])
		}
	}
	if r < rows {
		tileByDot(dot, dst[r:], ldd, w[r*rowBytes:], rowBytes, 1, vs)
	}
}
