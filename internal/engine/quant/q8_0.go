package quant

import (
	"encoding/binary"
	"math"
)

// Q8_0: blocks of 32 elements, 34 bytes: f16 scale d, then 32 int8 quants
// q; x = q*d.

var _ = register(Q8_0, &kernel{vecDotType: Q8_0, dequantize: dequantizeQ8_0, quantize: quantizeQ8_0, dot: dotQ8_0})

// Q8_1 is an activation type only: see Vector.

func dequantizeQ8_0(dst []float32, src []byte) {
	nb := len(dst) / 32
	src = src[:nb*34]
	for i := 0; i < nb; i++ {
		b := (*[34]byte)(src[i*34:])
		y := (*[32]float32)(dst[i*32:])
		d := f16At(b[0], b[1])
		for j := range y {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

// quantizeQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d)
// with halves away from zero.
func quantizeQ8_0(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*34]
	for i := 0; i < nb; i++ {
		x := (*[32]float32)(src[i*32:])
		b := (*[34]byte)(dst[i*34:])
		var amax float32
		for _, f := range x {
			amax = max32(amax, abs32(f))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b[0:], F32ToF16(d))
		for j, f := range x {
			b[2+j] = byte(int8(math.Round(float64(f * id))))
		}
	}
}

// max32 is C's MAX(a, b): b unless a > b.
func max32(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

func dotQ8_0(w []byte, v *Vector) float32 {
	nb := v.n / 32
	w = w[:nb*34]
	q := v.q[:nb*32]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[34]byte)(w[i*34:])
		s := dotI8((*[32]byte)(b[2:]), (*[32]int8)(q[i*32:]))
		sum += float32(s) * (f16At(b[0], b[1]) * dy)
	}
	return sum
}
