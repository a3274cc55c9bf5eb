package quant

import (
	"encoding/binary"
	"math"
)

// Q4_1: blocks of 32 elements, 20 bytes: f16 scale d, f16 minimum m, then
// 16 bytes of nibbles laid out as in Q4_0; x = nibble*d + m. Dot products
// run against Q8_1 activations, whose s field carries the m term.

var _ = register(Q4_1, &kernel{vecDotType: Q8_1, dequantize: dequantizeQ4_1, quantize: quantizeQ4_1, dot: dotQ4_1})

func dequantizeQ4_1(dst []float32, src []byte) {
	nb := len(dst) / 32
	src = src[:nb*20]
	for i := 0; i < nb; i++ {
		b := (*[20]byte)(src[i*20:])
		y := (*[32]float32)(dst[i*32:])
		d, m := f16At(b[0], b[1]), f16At(b[2], b[3])
		for j := 0; j < 16; j++ {
			y[j] = float32(float32(b[4+j]&15)*d) + m
			y[j+16] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

// quantizeQ4_1 is quantize_row_q4_1_ref: d = (max-min)/15, m = min.
func quantizeQ4_1(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*20]
	for i := 0; i < nb; i++ {
		x := (*[32]float32)(src[i*32:])
		b := (*[20]byte)(dst[i*20:])
		mn, id := scaleMinHeader((*[4]byte)(b[:4]), x, 15)
		for j := 0; j < 16; j++ {
			x0 := int8(float32((x[j]-mn)*id) + 0.5)
			x1 := int8(float32((x[j+16]-mn)*id) + 0.5)
			b[4+j] = byte(min(15, x0)) | byte(min(15, x1))<<4
		}
	}
}

func dotQ4_1(w []byte, v *Vector) float32 {
	nb := v.n / 32
	w = w[:nb*20]
	q := v.q[:nb*32]
	s := v.s[:nb]
	var sum, summs float32
	for i, dy := range v.d[:nb] {
		b := (*[20]byte)(w[i*20:])
		si := dotNibbles((*[16]byte)(b[4:]), (*[32]int8)(q[i*32:]))
		sum += float32(si) * (f16At(b[0], b[1]) * dy)
		summs += float32(f16At(b[2], b[3]) * s[i])
	}
	return sum + summs
}

// scaleMinHeader is the shared start of the Q4_1 and Q5_1 reference
// quantisers: d = (max-min)/levels and m = min, written as two halves at
// the head of the block; it returns the minimum and 1/d (0 when d is 0).
func scaleMinHeader(head *[4]byte, x *[32]float32, levels float32) (mn, id float32) {
	mn, mx := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, f := range x {
		if f < mn {
			mn = f
		}
		if f > mx {
			mx = f
		}
	}
	d := (mx - mn) / levels
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(head[0:], F32ToF16(d))
	binary.LittleEndian.PutUint16(head[2:], F32ToF16(mn))
	return mn, id
}
