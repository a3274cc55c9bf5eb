package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The assembly kernels against the portable ones, at head sizes from the
// tiny test models' to 128 and at counts around the kernels' steps.

var (
	kernDims   = []int{8, 16, 24, 64, 72, 128}
	kernCounts = []int{1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65}
)

func needAsm(t *testing.T) {
	if !haveAsm {
		t.Skip("no assembly kernels in this build or on this CPU")
	}
}

func gaussF32(r *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(std * r.NormFloat64())
	}
	return x
}

func halves(r *rand.Rand, n int) []uint16 {
	h := make([]uint16, n)
	for i := range h {
		h[i] = f32ToF16(float32(r.NormFloat64()))
	}
	return h
}

func TestWidenF16Asm(t *testing.T) {
	needAsm(t)
	src := make([]uint16, 1<<16+5)
	for i := range src {
		src[i] = uint16(i)
	}
	got, want := make([]float32, len(src)), make([]float32, len(src))
	widenF16(true, got, src)
	widenF16(false, want, src)
	for i := range src {
		if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("half %#04x: got %v, want %v", src[i], got[i], want[i])
		}
	}
}

func TestScoresF32Asm(t *testing.T) {
	needAsm(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, dim := range kernDims {
		for _, nk := range kernCounts {
			q, k := gaussF32(r, dim, 1), gaussF32(r, nk*dim, 1)
			got, want := make([]float32, nk), make([]float32, nk)
			gm := scoresF32(true, got, q, k, 0.125)
			wm := scoresF32(false, want, q, k, 0.125)
			for j := range want {
				var bound float64
				for i := range dim {
					bound += math.Abs(float64(q[i] * k[j*dim+i]))
				}
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-6*bound {
					t.Fatalf("dim %d, %d keys, key %d: got %v, want %v", dim, nk, j, got[j], want[j])
				}
			}
			if gm != slicesMax(got) {
				t.Fatalf("dim %d, %d keys: max %v of %v", dim, nk, gm, got)
			}
			if math.Abs(float64(gm-wm)) > 1e-5*math.Abs(float64(wm))+1e-6 {
				t.Fatalf("dim %d, %d keys: max %v, want %v", dim, nk, gm, wm)
			}
		}
	}
	if m := scoresF32(true, nil, make([]float32, 8), nil, 1); !math.IsInf(float64(m), -1) {
		t.Fatalf("no keys: max %v, want -Inf", m)
	}
}

func slicesMax(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// TestExpSumAsm: the vector expf is bit-identical to expf, special
// values included; only the sum's order differs.
func TestExpSumAsm(t *testing.T) {
	needAsm(t)
	nan := float32(math.NaN())
	special := []float32{0, -0.0, 1e-30, -1e-30, -1, 1, 0.5, -0.5, -87.3, -87.4, -103.9, -104, -104.01, -200,
		float32(math.Inf(-1)), 88.72, 88.73, 88.74, 100, float32(math.Inf(1)), nan, 3.4e38, -3.4e38}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range append(kernCounts, 1000, 4099) {
		for _, m := range []float32{0, 2.5, -7} {
			x := gaussF32(r, n, 20)
			for i := range x {
				if r.IntN(8) == 0 {
					x[i] = special[r.IntN(len(special))]
				}
			}
			got, want := append([]float32(nil), x...), append([]float32(nil), x...)
			gs := expSum(true, got, m)
			ws := expSum(false, want, m)
			for i := range x {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("n %d: expf(%v - %v) = %v, want %v", n, x[i], m, got[i], want[i])
				}
			}
			if !(math.Abs(float64(gs-ws)) <= 1e-5*math.Abs(float64(ws))) && !(gs != gs && ws != ws) && gs != ws {
				t.Fatalf("n %d: sum %v, want %v", n, gs, ws)
			}
		}
	}
}

func TestAccPVAsm(t *testing.T) {
	needAsm(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, dim := range kernDims {
		for _, nk := range kernCounts {
			p, v := gaussF32(r, nk, 1), gaussF32(r, nk*dim, 1)
			start := gaussF32(r, dim, 1)
			got, want := append([]float32(nil), start...), append([]float32(nil), start...)
			accPV(true, got, p, v)
			accPV(false, want, p, v)
			for i := range want {
				bound := math.Abs(float64(start[i]))
				for j := range nk {
					bound += math.Abs(float64(p[j] * v[j*dim+i]))
				}
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*bound {
					t.Fatalf("dim %d, %d rows, [%d]: got %v, want %v", dim, nk, i, got[i], want[i])
				}
			}
		}
	}
}

func TestDotsF16Asm(t *testing.T) {
	needAsm(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, dim := range kernDims {
		for _, nh := range []int{1, 2, 3, 7, 8} {
			q := gaussF32(r, nh*dim, 2)
			for i := range q {
				q[i] = round16(q[i])
			}
			k := halves(r, dim)
			got, want := make([]float32, nh), make([]float32, nh)
			dotsF16(true, got, q, k, 0.125)
			dotsF16(false, want, q, k, 0.125)
			for h := range want {
				var bound float64
				for i := range dim {
					bound += math.Abs(float64(q[h*dim+i] * f16ToF32(k[i])))
				}
				if d := math.Abs(float64(got[h] - want[h])); d > 1e-6*bound {
					t.Fatalf("dim %d, head %d: got %v, want %v", dim, h, got[h], want[h])
				}
			}
		}
	}
}

// TestMadF16sAsm: one F16 rounding per element after a fused multiply-add
// in both. The portable kernel's float64 sum rounds twice (to float64,
// then float32), which can differ from the single rounding of FMA when
// the exact sum needs more than 53 bits, so the check allows a one-step
// F16 difference there, and requires nearly every element to agree
// exactly.
func TestMadF16sAsm(t *testing.T) {
	needAsm(t)
	r := rand.New(rand.NewPCG(9, 10))
	total, differ := 0, 0
	for _, dim := range kernDims {
		for _, nh := range []int{1, 2, 3, 7} {
			for range 50 {
				acc := gaussF32(r, nh*dim, 4)
				for i := range acc {
					acc[i] = round16(acc[i])
				}
				s := gaussF32(r, nh, 1)
				s[0] = 1
				v := halves(r, dim)
				got, want := append([]float32(nil), acc...), append([]float32(nil), acc...)
				madF16s(true, got, v, s)
				madF16s(false, want, v, s)
				for i := range want {
					total++
					if got[i] == want[i] {
						continue
					}
					differ++
					if step := math.Abs(float64(want[i])) * 0x1p-10; math.Abs(float64(got[i]-want[i])) > step {
						t.Fatalf("dim %d, [%d]: got %v, want %v", dim, i, got[i], want[i])
					}
				}
			}
		}
	}
	if differ*1000 > total {
		t.Fatalf("%d of %d elements differ", differ, total)
	}
}

func TestKernelsEmptyAndTiny(t *testing.T) {
	// Head sizes that are not multiples of 8 take the portable code on
	// every path; the fast flag must not change their results at all.
	r := rand.New(rand.NewPCG(11, 12))
	for _, dim := range []int{1, 6, 20} {
		q, k := gaussF32(r, dim, 1), gaussF32(r, 3*dim, 1)
		a, b := make([]float32, 3), make([]float32, 3)
		scoresF32(haveAsm, a, q, k, 1)
		scoresF32(false, b, q, k, 1)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("dim %d: %v != %v", dim, a, b)
		}
	}
}

func TestSiluMulAsm(t *testing.T) {
	needAsm(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 7, 8, 9, 255, 256, 257, 4864} {
		gate, up := gaussF32(r, n, 4), gaussF32(r, n, 1)
		gate[0] = float32(math.Inf(-1))
		got, want := append([]float32(nil), gate...), append([]float32(nil), gate...)
		siluMul(true, got, up)
		siluMul(false, want, up)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("n %d, [%d]: silu(%v)·%v = %v, want %v", n, i, gate[i], up[i], got[i], want[i])
			}
		}
	}
}
