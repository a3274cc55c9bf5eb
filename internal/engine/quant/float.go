package quant

import (
	"encoding/binary"
	"math"
)

// F32, F16 and BF16: one element per block. llama.cpp converts activations
// to the weight's own type for F16 and BF16 and accumulates the products
// in float32.

var _ = register(F32, &kernel{vecDotType: F32, dequantize: dequantizeF32, quantize: quantizeF32, dot: dotF32})
var _ = register(F16, &kernel{vecDotType: F16, dequantize: dequantizeF16, quantize: quantizeF16, dot: dotF16})
var _ = register(BF16, &kernel{vecDotType: BF16, dequantize: dequantizeBF16, quantize: quantizeBF16, dot: dotBF16})

func dequantizeF32(dst []float32, src []byte) {
	src = src[:len(dst)*4]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[i*4:]))
	}
}

func quantizeF32(dst []byte, src []float32) {
	dst = dst[:len(src)*4]
	for i, f := range src {
		binary.LittleEndian.PutUint32(dst[i*4:], math.Float32bits(f))
	}
}

func dequantizeF16(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	for i := range dst {
		dst[i] = f16At(src[2*i], src[2*i+1])
	}
}

func quantizeF16(dst []byte, src []float32) {
	dst = dst[:len(src)*2]
	for i, f := range src {
		binary.LittleEndian.PutUint16(dst[i*2:], F32ToF16(f))
	}
}

func dequantizeBF16(dst []float32, src []byte) {
	src = src[:len(dst)*2]
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[i*2:]))
	}
}

func quantizeBF16(dst []byte, src []float32) {
	dst = dst[:len(src)*2]
	for i, f := range src {
		binary.LittleEndian.PutUint16(dst[i*2:], F32ToBF16(f))
	}
}

// The dots use eight float32 accumulators, as an AVX2 loop does, and
// explicit conversions so that the products are rounded before the sums
// (llama.cpp's FMA skips that rounding; the difference is far below the
// tolerances that matter and the order of the sums differs anyway).

func dotF32(w []byte, v *Vector) float32 {
	x := v.f[:v.n]
	w = w[:len(x)*4]
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		b := (*[32]byte)(w[i*4:])
		a := (*[8]float32)(x[i:])
		s[0] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[0:])) * a[0])
		s[1] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[4:])) * a[1])
		s[2] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[8:])) * a[2])
		s[3] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[12:])) * a[3])
		s[4] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[16:])) * a[4])
		s[5] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[20:])) * a[5])
		s[6] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[24:])) * a[6])
		s[7] += float32(math.Float32frombits(binary.LittleEndian.Uint32(b[28:])) * a[7])
	}
	for ; i < len(x); i++ {
		s[i&7] += float32(math.Float32frombits(binary.LittleEndian.Uint32(w[i*4:])) * x[i])
	}
	return sum8(&s)
}

func dotF16(w []byte, v *Vector) float32 {
	x := v.f[:v.n]
	w = w[:len(x)*2]
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		b := (*[16]byte)(w[i*2:])
		a := (*[8]float32)(x[i:])
		s[0] += float32(f16At(b[0], b[1]) * a[0])
		s[1] += float32(f16At(b[2], b[3]) * a[1])
		s[2] += float32(f16At(b[4], b[5]) * a[2])
		s[3] += float32(f16At(b[6], b[7]) * a[3])
		s[4] += float32(f16At(b[8], b[9]) * a[4])
		s[5] += float32(f16At(b[10], b[11]) * a[5])
		s[6] += float32(f16At(b[12], b[13]) * a[6])
		s[7] += float32(f16At(b[14], b[15]) * a[7])
	}
	for ; i < len(x); i++ {
		s[i&7] += float32(f16At(w[2*i], w[2*i+1]) * x[i])
	}
	return sum8(&s)
}

func dotBF16(w []byte, v *Vector) float32 {
	x := v.f[:v.n]
	w = w[:len(x)*2]
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		b := (*[16]byte)(w[i*2:])
		a := (*[8]float32)(x[i:])
		s[0] += float32(bf16At(b[0], b[1]) * a[0])
		s[1] += float32(bf16At(b[2], b[3]) * a[1])
		s[2] += float32(bf16At(b[4], b[5]) * a[2])
		s[3] += float32(bf16At(b[6], b[7]) * a[3])
		s[4] += float32(bf16At(b[8], b[9]) * a[4])
		s[5] += float32(bf16At(b[10], b[11]) * a[5])
		s[6] += float32(bf16At(b[12], b[13]) * a[6])
		s[7] += float32(bf16At(b[14], b[15]) * a[7])
	}
	for ; i < len(x); i++ {
		s[i&7] += float32(bf16At(w[2*i], w[2*i+1]) * x[i])
	}
	return sum8(&s)
}

func bf16At(lo, hi byte) float32 { return math.Float32frombits(uint32(lo)<<16 | uint32(hi)<<24) }

// sum8 adds eight lanes the way hsum_float_8 does: upper half onto lower
// half, then pairs.
func sum8(s *[8]float32) float32 {
	a0, a1, a2, a3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	b0, b1 := a0+a2, a1+a3
	return b0 + b1
}
