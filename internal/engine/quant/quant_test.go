package quant

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

var testTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K}

// refDequant dequantises one block of t following the documented layout,
// plainly and in float64.
func refDequant(t Type, b []byte) []float64 {
	h := func(i int) float64 { return float64(F16ToF32(binary.LittleEndian.Uint16(b[i:]))) }
	switch t {
	case F32:
		return []float64{float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))}
	case F16:
		return []float64{h(0)}
	case BF16:
		return []float64{float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))}
	}
	y := make([]float64, t.BlockSize())
	nib := func(qs []byte, j int) int { // element j of a 32-element nibble block
		if j < 16 {
			return int(qs[j] & 15)
		}
		return int(qs[j-16] >> 4)
	}
	switch t {
	case Q8_0:
		for j := range y {
			y[j] = h(0) * float64(int8(b[2+j]))
		}
	case Q4_0:
		for j := range y {
			y[j] = h(0) * float64(nib(b[2:], j)-8)
		}
	case Q4_1:
		for j := range y {
			y[j] = h(0)*float64(nib(b[4:], j)) + h(2)
		}
	case Q5_0, Q5_1:
		off := 2
		if t == Q5_1 {
			off = 4
		}
		qh := binary.LittleEndian.Uint32(b[off:])
		for j := range y {
			q := nib(b[off+4:], j) + int(qh>>j&1)*16
			if t == Q5_0 {
				y[j] = h(0) * float64(q-16)
			} else {
				y[j] = h(0)*float64(q) + h(2)
			}
		}
	case Q4_K, Q5_K:
		// Eight sub-blocks of 32; 6-bit scale and min of sub-block j: for
		// j < 4 the low 6 bits of bytes j and j+4; else the nibbles of
		// byte j+4 with the top two bits of bytes j-4 and j.
		sc := b[4:16]
		for j := 0; j < 8; j++ {
			var s, m int
			if j < 4 {
				s, m = int(sc[j]&63), int(sc[j+4]&63)
			} else {
				s = int(sc[j+4]&15) | int(sc[j-4]>>6)<<4
				m = int(sc[j+4]>>4) | int(sc[j]>>6)<<4
			}
			for k := 0; k < 32; k++ {
				e := 32*j + k // run j/2 of 32 bytes: low nibbles then high
				var q int
				if t == Q4_K {
					by := b[16+32*(j/2)+k]
					q = int(by & 15)
					if j%2 == 1 {
						q = int(by >> 4)
					}
				} else {
					by := b[48+32*(j/2)+k]
					q = int(by & 15)
					if j%2 == 1 {
						q = int(by >> 4)
					}
					q += int(b[16+k]>>j&1) * 16
				}
				y[e] = h(0)*float64(s)*float64(q) - h(2)*float64(m)
			}
		}
	case Q2_K:
		// 16 bytes of scales (low nibble) and mins (high nibble) per 16
		// elements; element 32j+k of half h is bits 2j..2j+1 of byte
		// 16+32h+k.
		for e := range y {
			hf, r := e/128, e%128
			q := int(b[16+32*hf+r%32]>>(2*(r/32))) & 3
			sc := b[e/16]
			y[e] = h(80)*float64(sc&15)*float64(q) - h(82)*float64(sc>>4)
		}
	case Q3_K:
		// hmask bit e/32 of byte e%32 set means q >= 4 (no offset);
		// scales: low nibbles in bytes 96-103, top bits in 104-107.
		for e := range y {
			hf, r := e/128, e%128
			q := int(b[32+32*hf+r%32]>>(2*(r/32))) & 3
			if b[e%32]>>(e/32)&1 == 0 {
				q -= 4
			}
			j := e / 16
			lo := int(b[96+j%8]>>(4*(j/8))) & 15
			hi := int(b[104+j%4]>>(2*(j/4))) & 3
			y[e] = h(108) * float64(lo|hi<<4-32) * float64(q)
		}
	case Q6_K:
		d := h(208)
		for e := 0; e < 256; e++ {
			half, r := e/128, e%128
			quarter, l := r/32, r%32
			ql := b[64*half+l+32*(quarter%2)]
			lo := int(ql & 15)
			if quarter >= 2 {
				lo = int(ql >> 4)
			}
			hi := int(b[128+32*half+l]>>(2*quarter)) & 3
			y[e] = d * float64(int8(b[192+e/16])) * float64(lo|hi<<4-32)
		}
	}
	return y
}

// randomBlocks fills n blocks of t with random bytes, then puts finite
// half-precision scales (including extremes) where the layout has them.
func randomBlocks(t Type, n int, rng *rand.Rand) []byte {
	bb := t.BlockBytes()
	b := make([]byte, n*bb)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	extremes := []uint16{0x0000, 0x8000, 0x7bff, 0xfbff, 0x0001, 0x8001, 0x0400, 0x3c00, 0xbc00}
	scale := func() uint16 {
		if rng.IntN(4) == 0 {
			return extremes[rng.IntN(len(extremes))]
		}
		for {
			h := uint16(rng.Uint32())
			if h&0x7c00 != 0x7c00 {
				return h
			}
		}
	}
	var at []int
	switch t {
	case F16, Q4_0, Q5_0, Q8_0:
		at = []int{0}
	case Q4_1, Q5_1, Q4_K, Q5_K:
		at = []int{0, 2}
	case Q6_K:
		at = []int{208}
	case Q2_K:
		at = []int{80, 82}
	case Q3_K:
		at = []int{108}
	case F32:
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(b[i*4:], math.Float32bits(float32(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(60)-30)))))
		}
	case BF16:
		for i := 0; i < n; i++ {
			for b[i*2+1]&0x7f == 0x7f && b[i*2]&0x80 != 0 { // no inf/NaN
				b[i*2+1] = byte(rng.Uint32())
			}
		}
	}
	for i := 0; i < n; i++ {
		for _, o := range at {
			binary.LittleEndian.PutUint16(b[i*bb+o:], scale())
		}
	}
	return b
}

func TestDequantizeMatchesPlainReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range testTypes {
		t.Run(typ.String(), func(t *testing.T) {
			const blocks = 64
			n := blocks * typ.BlockSize()
			if n < 256 {
				n = 256 // several elements for the one-element types
			}
			nb := n / typ.BlockSize()
			src := randomBlocks(typ, nb, rng)
			// Edge blocks: all zero, all 0xff (with finite scales).
			bb := typ.BlockBytes()
			clear(src[:bb])
			if nb > 1 && typ.BlockSize() > 1 {
				for i := bb; i < 2*bb; i++ {
					src[i] = 0xff
				}
				fixed := randomBlocks(typ, 1, rng) // finite scales
				for i := range fixed {
					if fixed[i] != src[bb+i] && (typ == Q6_K && i >= 208 || typ == Q2_K && i >= 80 || typ == Q3_K && i >= 108 || typ != Q6_K && typ != Q2_K && typ != Q3_K && i < 4) {
						src[bb+i] = fixed[i]
					}
				}
			}
			got := make([]float32, n)
			if err := Dequantize(typ, got, src); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < nb; i++ {
				want := refDequant(typ, src[i*bb:(i+1)*bb])
				for j, w := range want {
					g := float64(got[i*typ.BlockSize()+j])
					if math.IsNaN(w) != math.IsNaN(g) || math.Abs(g-w) > 1e-6*math.Abs(w)+1e-37 {
						t.Fatalf("block %d element %d: got %g, reference %g", i, j, g, w)
					}
				}
			}
		})
	}
}

func gaussRow(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func TestQuantizeRoundTripError(t *testing.T) {
	// Relative RMS error bounds on Gaussian rows, a little above what
	// these formats achieve (measured: see the log output with -v).
	bounds := map[Type]float64{
		F32: 0, F16: 0.0004, BF16: 0.003, Q8_0: 0.007, Q6_K: 0.025, Q5_1: 0.05, Q5_0: 0.06,
		Q5_K: 0.05, Q4_1: 0.1, Q4_0: 0.12, Q4_K: 0.1, Q3_K: 0.2, Q2_K: 0.4,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, typ := range testTypes {
		t.Run(typ.String(), func(t *testing.T) {
			const n = 256 * 32
			x := gaussRow(rng, n, 0.05)
			rb, _ := typ.RowBytes(n)
			q := make([]byte, rb)
			if err := Quantize(typ, q, x); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, y, q); err != nil {
				t.Fatal(err)
			}
			var se, sx float64
			for i := range x {
				d := float64(x[i] - y[i])
				se += d * d
				sx += float64(x[i]) * float64(x[i])
			}
			rel := math.Sqrt(se / sx)
			t.Logf("%s: relative RMS error %.5f", typ, rel)
			if rel > bounds[typ] {
				t.Errorf("relative RMS error %.5f above %.5f", rel, bounds[typ])
			}
			// Special rows: zeros stay zeros; a constant row stays close.
			zero := make([]float32, n)
			if err := Quantize(typ, q, zero); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(typ, y, q); err != nil {
				t.Fatal(err)
			}
			for i, v := range y {
				if v != 0 {
					t.Fatalf("zero row dequantises to %g at %d", v, i)
				}
			}
		})
	}
}

// TestDotMatchesDequantizedDot checks that the integer dot products equal
// the float dot product of the dequantised weights with the activations as
// converted (the same quants), up to float rounding.
func TestDotMatchesDequantizedDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, typ := range testTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for trial := 0; trial < 20; trial++ {
				n := 256 * (1 + rng.IntN(8))
				rb, _ := typ.RowBytes(n)
				w := make([]byte, rb)
				var x []float32
				switch trial % 4 {
				case 0: // random blocks, scales up to the extremes
					w = randomBlocks(typ, n/typ.BlockSize(), rng)
					x = gaussRow(rng, n, 1)
				case 1:
					if err := Quantize(typ, w, gaussRow(rng, n, 0.02)); err != nil {
						t.Fatal(err)
					}
					x = gaussRow(rng, n, 3)
				case 2: // zero activations
					w = randomBlocks(typ, n/typ.BlockSize(), rng)
					x = make([]float32, n)
				default: // large activations and negative weights
					if err := Quantize(typ, w, gaussRow(rng, n, 100)); err != nil {
						t.Fatal(err)
					}
					x = gaussRow(rng, n, 1000)
				}
				vt, _ := typ.VecDotType()
				var v Vector
				if err := v.Quantize(vt, x); err != nil {
					t.Fatal(err)
				}
				got, err := VecDot(typ, w, &v)
				if err != nil {
					t.Fatal(err)
				}
				wf := make([]float32, n)
				if err := Dequantize(typ, wf, w); err != nil {
					t.Fatal(err)
				}
				xf := make([]float32, n)
				v.dequantizeInto(xf)
				var want, mag float64
				for i := range wf {
					p := float64(wf[i]) * float64(xf[i])
					want += p
					mag += math.Abs(p)
				}
				if vt == Q8_1 {
					// llama.cpp applies the weights' minimum m through the
					// activation's s = f16(d*sum(q)), not the exact sum.
					for b := 0; b < n/32; b++ {
						var sum float64
						for _, f := range xf[b*32 : b*32+32] {
							sum += float64(f)
						}
						m := float64(F16ToF32(binary.LittleEndian.Uint16(w[b*typ.BlockBytes()+2:])))
						want += m * (float64(v.s[b]) - sum)
					}
				}
				alt, err := Dot(typ, w, x)
				if err != nil || alt != got && !(alt != alt && got != got) {
					t.Fatalf("Dot = %g, %v; VecDot = %g", alt, err, got)
				}
				if !(mag < 1e36) {
					continue // float32 sums may overflow: nothing to compare
				}
				if d := math.Abs(float64(got) - want); d > 1e-5*mag+1e-30 {
					t.Fatalf("trial %d (n=%d): dot %g, dequantised dot %g, |diff| %g > tolerance (scale %g)", trial, n, got, want, d, mag)
				}
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	buf := make([]byte, 1024)
	f := make([]float32, 256)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"dequantize short src", Dequantize(Q8_0, f[:64], buf[:67]), ErrLength},
		{"dequantize long src", Dequantize(Q8_0, f[:64], buf[:69]), ErrLength},
		{"dequantize partial block", Dequantize(Q4_K, f[:100], buf[:144]), ErrLength},
		{"quantize short dst", Quantize(Q6_K, buf[:209], f), ErrLength},
		{"unknown type", Dequantize(Type(4), f[:1], buf[:1]), ErrUnknownType},
		{"unknown type 1000", Quantize(Type(1000), buf, f), ErrUnknownType},
		{"unsupported type", Dequantize(IQ2_XS, f, buf[:74]), ErrUnsupported},
		{"q8_1 is not a weight type", Dequantize(Q8_1, f[:32], buf[:36]), ErrUnsupported},
	}
	var v Vector
	tests = append(tests, struct {
		name string
		err  error
		want error
	}{"vector of a weight type", v.Quantize(Q4_0, f[:32]), ErrUnsupported})
	tests = append(tests, struct {
		name string
		err  error
		want error
	}{"vector partial block", v.Quantize(Q8_K, f[:32]), ErrLength})
	if err := v.Quantize(Q8_0, f[:64]); err != nil {
		t.Fatal(err)
	}
	_, err := VecDot(Q4_K, buf[:144], &v)
	tests = append(tests, struct {
		name string
		err  error
		want error
	}{"vecdot wrong vector type", err, ErrLength})
	_, err = VecDot(Q4_0, buf[:18], &v)
	tests = append(tests, struct {
		name string
		err  error
		want error
	}{"vecdot short row", err, ErrLength})
	_, err = Dot(F16, buf[:6], f[:4])
	tests = append(tests, struct {
		name string
		err  error
		want error
	}{"dot short row", err, ErrLength})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) {
				t.Fatalf("error %v, want %v", tc.err, tc.want)
			}
		})
	}
}

func TestTypeTable(t *testing.T) {
	for _, tc := range []struct {
		typ        Type
		name       string
		block, sz  int
		vecDot     Type
		vecDotOkay bool
	}{
		{F32, "f32", 1, 4, F32, true}, {F16, "f16", 1, 2, F16, true}, {BF16, "bf16", 1, 2, BF16, true},
		{Q4_0, "q4_0", 32, 18, Q8_0, true}, {Q4_1, "q4_1", 32, 20, Q8_1, true}, {Q5_0, "q5_0", 32, 22, Q8_0, true},
		{Q5_1, "q5_1", 32, 24, Q8_1, true}, {Q8_0, "q8_0", 32, 34, Q8_0, true}, {Q4_K, "q4_K", 256, 144, Q8_K, true},
		{Q5_K, "q5_K", 256, 176, Q8_K, true}, {Q6_K, "q6_K", 256, 210, Q8_K, true}, {Q8_K, "q8_K", 256, 292, 0, false},
		{Q2_K, "q2_K", 256, 84, Q8_K, true}, {Q3_K, "q3_K", 256, 110, Q8_K, true}, {IQ4_XS, "iq4_xs", 256, 136, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.typ.String() != tc.name || tc.typ.BlockSize() != tc.block || tc.typ.BlockBytes() != tc.sz {
				t.Errorf("%d: %s %d %d", tc.typ, tc.typ, tc.typ.BlockSize(), tc.typ.BlockBytes())
			}
			p, err := ParseType(tc.name)
			if err != nil || p != tc.typ {
				t.Errorf("ParseType(%q) = %v, %v", tc.name, p, err)
			}
			vt, err := tc.typ.VecDotType()
			if tc.vecDotOkay != (err == nil) || err == nil && vt != tc.vecDot {
				t.Errorf("VecDotType = %v, %v", vt, err)
			}
			if tc.typ.Supported() != tc.vecDotOkay {
				t.Errorf("Supported = %v", tc.typ.Supported())
			}
			rb, err := tc.typ.RowBytes(tc.block * 3)
			if err != nil || rb != 3*tc.sz {
				t.Errorf("RowBytes(3 blocks) = %d, %v", rb, err)
			}
			if tc.block > 1 {
				if _, err := tc.typ.RowBytes(tc.block + 1); !errors.Is(err, ErrLength) {
					t.Errorf("RowBytes(block+1) error %v", err)
				}
			}
		})
	}
	if Type(4).Known() || Type(31).Known() || Type(43).Known() || Type(1<<31).Known() {
		t.Error("removed or out-of-range ids must be unknown")
	}
	if s := Type(77).String(); s != "type(77)" {
		t.Errorf("String of unknown = %q", s)
	}
	if _, err := ParseType("q9_9"); !errors.Is(err, ErrUnknownType) {
		t.Errorf("ParseType(q9_9) error %v", err)
	}
	if _, err := Q4_K.RowBytes(-256); !errors.Is(err, ErrLength) {
		t.Errorf("negative RowBytes error %v", err)
	}
}

func TestHalfConversions(t *testing.T) {
	// Every half converts to float32 and back unchanged (NaNs stay NaNs).
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := F16ToF32(h)
		if f != f {
			if g := F16ToF32(F32ToF16(f)); g == g {
				t.Fatalf("NaN %#04x came back as %g", h, g)
			}
			continue
		}
		if back := F32ToF16(f); back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00}, {-1e9, 0xfc00},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0x0000},
		{float32(math.Ldexp(1.5, -25)), 0x0001}, {float32(math.Ldexp(3, -25)), 0x0002},
		{1 + float32(math.Ldexp(1, -11)), 0x3c00}, {1 + float32(math.Ldexp(3, -11)), 0x3c02},
	} {
		if got := F32ToF16(tc.f); got != tc.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	if F32ToBF16(1) != 0x3f80 || BF16ToF32(0x3f80) != 1 || F32ToBF16(float32(math.NaN()))&0x7fc0 != 0x7fc0 {
		t.Error("bf16 basics")
	}
}
