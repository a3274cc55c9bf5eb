package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// nearestF16 finds the half float nearest to f by search over the finite
// values (ties to the even bit pattern), for checking f32ToF16.
func nearestF16(f float64, finite []float64) uint16 {
	lo, hi := 0, len(finite)-1 // finite holds the positive halves in order
	a := math.Abs(f)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if finite[mid] <= a {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	best := lo
	if lo+1 < len(finite) {
		dl, dh := a-finite[lo], finite[lo+1]-a
		if dh < dl || (dh == dl && (lo+1)%2 == 0) {
			best = lo + 1
		}
	}
	h := uint16(best)
	// Past the largest half by half an ulp or more: infinity.
	if a >= 65520 {
		h = 0x7c00
	}
	if math.Signbit(f) {
		h |= 0x8000
	}
	return h
}

func TestF16RoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		if f != f { // NaN
			if g := f32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Errorf("NaN %#04x came back as %#04x", h, g)
			}
			continue
		}
		if g := f32ToF16(f); g != uint16(h) {
			t.Errorf("%#04x → %v → %#04x", h, f, g)
		}
	}
}

func TestF32ToF16Rounding(t *testing.T) {
	finite := make([]float64, 0x7c00)
	for h := range finite {
		finite[h] = float64(f16ToF32(uint16(h)))
	}
	var cases []float32
	// Midpoints and their neighbours, around every finite half.
	for h := 0; h+1 < len(finite); h++ {
		mid := float32((finite[h] + finite[h+1]) / 2)
		cases = append(cases, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9), -mid)
	}
	cases = append(cases, 65504, 65519.99, 65520, 1e9, 1e-9, 3e-8, 2.9802322e-08, 2.9802326e-08, 0, float32(math.Copysign(0, -1)))
	for _, f := range cases {
		if got, want := f32ToF16(f), nearestF16(float64(f), finite); got != want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", f, got, want)
		}
	}
	if got := f32ToF16(float32(math.Inf(-1))); got != 0xfc00 {
		t.Errorf("-Inf → %#04x", got)
	}
}

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-103); x < 88.7; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if want < 1.2e-38 { // float32 subnormals: absolute error
			if math.Abs(got-want) > 1.5e-45 {
				t.Fatalf("expf(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		worst = max(worst, math.Abs(got-want)/want)
	}
	// One float32 ulp is 2^-23 ≈ 1.2e-7 relative.
	if worst > 1.2e-7 {
		t.Errorf("expf relative error up to %.3g", worst)
	}
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-200, 0}, {float32(math.Inf(1)), float32(math.Inf(1))}, {100, float32(math.Inf(1))},
	} {
		if got := expf(tc.x); got != tc.want {
			t.Errorf("expf(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %v", got)
	}
}

func TestRound16(t *testing.T) {
	check := func(f float32) {
		want := f16ToF32(f32ToF16(f))
		if got := round16(f); math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("round16(%g) = %g, want %g", f, got, want)
		}
	}
	// Every half, its neighbours and the midpoints between halves.
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		check(f)
		check(math.Nextafter32(f, 0))
		check(math.Nextafter32(f, float32(math.Inf(1))))
		g := f16ToF32(uint16(h + 1))
		if h&0x7fff < 0x7bff {
			mid := (f + g) / 2
			check(mid)
			check(math.Nextafter32(mid, 0))
			check(math.Nextafter32(mid, float32(math.Inf(1))))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(math.Float32frombits(r.Uint32()))
	}
}
