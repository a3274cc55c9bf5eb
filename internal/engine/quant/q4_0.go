package quant

import "encoding/binary"

// Q4_0: blocks of 32 elements, 18 bytes: f16 scale d, then 16 bytes whose
// low nibbles are elements 0-15 and high nibbles elements 16-31; x =
// (nibble-8)*d. Dot products run against Q8_0 activations.

var _ = register(Q4_0, &kernel{vecDotType: Q8_0, dequantize: dequantizeQ4_0, quantize: quantizeQ4_0, dot: dotQ4_0})

func dequantizeQ4_0(dst []float32, src []byte) {
	nb := len(dst) / 32
	src = src[:nb*18]
	for i := 0; i < nb; i++ {
		b := (*[18]byte)(src[i*18:])
		y := (*[32]float32)(dst[i*32:])
		d := f16At(b[0], b[1])
		for j := 0; j < 16; j++ {
			y[j] = float32(int32(b[2+j]&15)-8) * d
			y[j+16] = float32(int32(b[2+j]>>4)-8) * d
		}
	}
}

// quantizeQ4_0 is quantize_row_q4_0_ref: the element of largest magnitude
// maps to -8.
func quantizeQ4_0(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*18]
	for i := 0; i < nb; i++ {
		x := (*[32]float32)(src[i*32:])
		b := (*[18]byte)(dst[i*18:])
		var amax, max float32
		for _, f := range x {
			if a := abs32(f); amax < a {
				amax, max = a, f
			}
		}
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b[0:], F32ToF16(d))
		for j := 0; j < 16; j++ {
			x0 := int8(float32(x[j]*id) + 8.5)
			x1 := int8(float32(x[j+16]*id) + 8.5)
			b[2+j] = byte(min(15, x0)) | byte(min(15, x1))<<4
		}
	}
}

func dotQ4_0(w []byte, v *Vector) float32 {
	nb := v.n / 32
	w = w[:nb*18]
	q := v.q[:nb*32]
	isum := v.isum[:nb]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[18]byte)(w[i*18:])
		s := dotNibbles((*[16]byte)(b[2:]), (*[32]int8)(q[i*32:])) - 8*isum[i]
		sum += float32(s) * (f16At(b[0], b[1]) * dy)
	}
	return sum
}
