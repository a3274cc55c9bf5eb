package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// actRows returns activation rows of n elements (n a multiple of 256)
// that reach the converters' edge cases block by block: random rows at
// several scales, exact ties after scaling, zero and negative-zero
// blocks, single huge values, negative maxima, magnitudes tied between a
// positive and a negative element, denormals, maxima so small that
// 127/max overflows, infinities and NaNs.
func actRows(rng *rand.Rand, n int) map[string][]float32 {
	rows := map[string][]float32{}
	for _, scale := range []float64{1e-30, 1e-3, 1, 1e3, 1e30} {
		rows[fmt.Sprintf("gauss%g", scale)] = gaussRow(rng, n, scale)
	}
	fill := func(name string, f func(i int) float32) {
		x := make([]float32, n)
		for i := range x {
			x[i] = f(i)
		}
		rows[name] = x
	}
	// Ties: with a block maximum of ±127 (Q8_0's id and Q8_K's iscale
	// are ±1) or ±254 (±0.5), half-integers and odd integers land exactly
	// on .5 after scaling, which rounds to even.
	for _, m := range []float32{127, -127, 254, -254} {
		fill(fmt.Sprintf("ties%g", m), func(i int) float32 {
			if i%32 == 5 {
				return m
			}
			k := float32(rng.IntN(253) - 126)
			if math.Abs(float64(m)) == 127 {
				return k + 0.5*float32(1-2*(i%2))
			}
			return 2*k + 1
		})
	}
	fill("zero", func(int) float32 { return 0 })
	fill("negzero", func(int) float32 { return float32(math.Copysign(0, -1)) })
	fill("zeroblocks", func(i int) float32 {
		if i/32%2 == 0 {
			return 0
		}
		return float32(rng.NormFloat64())
	})
	for _, h := range []float32{math.MaxFloat32, -math.MaxFloat32, 1e30, -3e38} {
		fill(fmt.Sprintf("huge%g", h), func(i int) float32 {
			if i%97 == 3 {
				return h
			}
			return float32(rng.NormFloat64())
		})
	}
	fill("negmax", func(i int) float32 {
		if i%32 == 31 {
			return -10
		}
		return float32(rng.Float64() * 9)
	})
	// The same magnitude with both signs: Q8_K takes the first one's.
	fill("signtie", func(i int) float32 {
		switch i % 64 {
		case 7:
			return -3
		case 9, 40:
			return 3
		}
		return float32(rng.NormFloat64())
	})
	fill("signtie2", func(i int) float32 {
		switch i % 256 {
		case 100:
			return 5
		case 200:
			return -5
		}
		return float32(rng.NormFloat64())
	})
	// … and within one chunk of eight.
	fill("signtie3", func(i int) float32 {
		switch i % 256 {
		case 17:
			return -6
		case 19, 20:
			return 6
		}
		return float32(rng.NormFloat64())
	})
	fill("denormal", func(int) float32 {
		return math.Float32frombits(uint32(rng.IntN(1<<23)) | uint32(rng.IntN(2))<<31)
	})
	fill("denormalmix", func(i int) float32 {
		if i%50 == 0 {
			return float32(rng.NormFloat64())
		}
		return math.Float32frombits(uint32(rng.IntN(1<<23)) | uint32(rng.IntN(2))<<31)
	})
	// Maxima below 127/MaxFloat32 ≈ 3.7e-37: 127/max is +Inf.
	fill("tiny", func(i int) float32 {
		if i%3 == 0 {
			return 0
		}
		return float32(rng.NormFloat64() * 1e-37)
	})
	fill("tinyzero", func(i int) float32 {
		if i%32 == 0 {
			return 2e-38
		}
		return 0
	})
	fill("inf", func(i int) float32 {
		switch i % 101 {
		case 0:
			return float32(math.Inf(1))
		case 50:
			return float32(math.Inf(-1))
		}
		return float32(rng.NormFloat64())
	})
	fill("nan", func(i int) float32 {
		switch i % 41 {
		case 0:
			return float32(math.NaN())
		case 20:
			// A NaN with a payload and the sign set.
			return math.Float32frombits(0xff812345)
		}
		return float32(rng.NormFloat64())
	})
	fill("allnan", func(int) float32 { return float32(math.NaN()) })
	fill("bits", func(int) float32 { return math.Float32frombits(rng.Uint32()) })
	return rows
}

// sameVector describes the first difference between two converted
// vectors, comparing floats by their bits; "" if they are identical.
func sameVector(a, b *Vector) string {
	if a.typ != b.typ || a.n != b.n {
		return fmt.Sprintf("type/length %s/%d vs %s/%d", a.typ, a.n, b.typ, b.n)
	}
	bits := func(what string, x, y []float32) string {
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return fmt.Sprintf("%s[%d] = %g (%#08x) vs %g (%#08x)", what, i, x[i], math.Float32bits(x[i]), y[i], math.Float32bits(y[i]))
			}
		}
		return ""
	}
	switch a.typ {
	case F16:
		return bits("f", a.f[:a.n], b.f[:b.n])
	case Q8_0, Q8_1, Q8_K:
		if i := slices.Compare(a.q[:a.n], b.q[:b.n]); i != 0 {
			for j := range a.q[:a.n] {
				if a.q[j] != b.q[j] {
					return fmt.Sprintf("q[%d] = %d vs %d", j, a.q[j], b.q[j])
				}
			}
		}
	}
	switch a.typ {
	case Q8_0, Q8_1:
		nb := a.n / 32
		if s := bits("d", a.d[:nb], b.d[:nb]); s != "" {
			return s
		}
		if !slices.Equal(a.isum[:nb], b.isum[:nb]) {
			return fmt.Sprintf("isum %v vs %v", a.isum[:nb], b.isum[:nb])
		}
		if a.typ == Q8_1 {
			return bits("s", a.s[:nb], b.s[:nb])
		}
	case Q8_K:
		nb := a.n / 256
		if s := bits("d", a.d[:nb], b.d[:nb]); s != "" {
			return s
		}
		if !slices.Equal(a.bsums[:nb*16], b.bsums[:nb*16]) {
			return fmt.Sprintf("bsums %v vs %v", a.bsums[:nb*16], b.bsums[:nb*16])
		}
	}
	return ""
}

// TestActConvertersAgree checks every tier's activation converters
// against the scalar ones, bit for bit, on the rows of actRows and on
// rows of several lengths (F16 tails of every length below 8).
func TestActConvertersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows := actRows(rng, 1024)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range rows {
			if !yield(k) {
				return
			}
		}
	})
	for _, tier := range KernelTiers() {
		if tier == "scalar" {
			continue
		}
		for _, typ := range []Type{Q8_0, Q8_1, Q8_K, F16} {
			t.Run(tier+"/"+typ.String(), func(t *testing.T) {
				var want, got Vector
				check := func(name string, x []float32) {
					t.Helper()
					withTier(t, "scalar", func() {
						if err := want.Quantize(typ, x); err != nil {
							t.Fatal(err)
						}
					})
					withTier(t, tier, func() {
						if err := got.Quantize(typ, x); err != nil {
							t.Fatal(err)
						}
					})
					if d := sameVector(&got, &want); d != "" {
						t.Errorf("%s (%d elements): %s, scalar: %s", name, len(x), tier, d)
					}
				}
				for _, name := range names {
					check(name, rows[name])
				}
				bs := typ.BlockSize()
				for _, n := range []int{0, bs, 2 * bs, 3 * bs, 7 * bs, 4864 / bs * bs} {
					check("gauss", gaussRow(rng, n, 1))
				}
				if typ == F16 {
					for n := range 41 {
						check("bits", rows["bits"][:n])
						check("gauss", rows["gauss1"][1000-n:])
					}
				}
			})
		}
	}
}

// TestF16RoundingSweep rounds float32 bit patterns spread over the whole
// range (every exponent, sign and a stride of mantissas, plus the values
// either side of each half-precision rounding boundary) through every
// tier's F16 converter and checks them against the scalar conversion.
func TestF16RoundingSweep(t *testing.T) {
	var xs []float32
	for b := uint64(0); b < 1<<32; b += 65521 {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	// Boundaries: the midpoints between neighbouring halves (ties go to
	// even) and one float32 either side, for every half value.
	for h := range 1 << 16 {
		lo, hi := f16ToF32Slow(uint16(h)), f16ToF32Slow(uint16(h+1))
		if h&0x7fff >= 0x7c00 || math.IsInf(float64(hi), 0) {
			continue
		}
		mid := float32((float64(lo) + float64(hi)) / 2)
		xs = append(xs, mid, math.Nextafter32(mid, float32(math.Inf(1))), math.Nextafter32(mid, float32(math.Inf(-1))))
	}
	want := make([]float32, len(xs))
	roundF16(want, xs)
	for _, tier := range KernelTiers() {
		got := make([]float32, len(xs))
		withTier(t, tier, func() { act.f16(got, xs) })
		bad := 0
		for i := range xs {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				if bad++; bad <= 5 {
					t.Errorf("%s: f16(%g = %#08x) = %#08x, scalar %#08x", tier, xs[i], math.Float32bits(xs[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
		}
	}
}

// TestQuantizeNoAlloc checks that converting into a vector that has seen
// the size allocates nothing, in every tier.
func TestQuantizeNoAlloc(t *testing.T) {
	x := gaussRow(rand.New(rand.NewPCG(1, 2)), 4864, 1)
	for _, tier := range KernelTiers() {
		withTier(t, tier, func() {
			for _, typ := range []Type{F32, F16, BF16, Q8_0, Q8_1, Q8_K} {
				n := len(x) / typ.BlockSize() * typ.BlockSize()
				var v Vector
				v.Quantize(typ, x[:n])
				if a := testing.AllocsPerRun(10, func() { v.Quantize(typ, x[:n]) }); a != 0 {
					t.Errorf("%s: %s conversion allocates %v times", tier, typ, a)
				}
			}
		})
	}
}
