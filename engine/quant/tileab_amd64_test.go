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
}

// TestTileAB times, per type with a baseline, the AVX2 tier's tile
// against its baseline on a tile that fits the caches (16 weight rows by
// 16 activation rows, rows of 896 and 4864 elements), alternating the
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
