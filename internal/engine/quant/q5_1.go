package quant

import (
	"encoding/binary"
)

// Q5_1: blocks of 32 elements, 24 bytes: f16 scale d, f16 minimum m, u32
// qh of fifth bits, then 16 bytes of low nibbles; x = q*d + m. Dot
// products run against Q8_1 activations.

var _ = register(Q5_1, &kernel{vecDotType: Q8_1, dequantize: dequantizeQ5_1, quantize: quantizeQ5_1, dot: dotQ5_1})

func dequantizeQ5_1(dst []float32, src []byte) {
	nb := len(dst) / 32
	src = src[:nb*24]
	for i := 0; i < nb; i++ {
		b := (*[24]byte)(src[i*24:])
		y := (*[32]float32)(dst[i*32:])
		d, m := f16At(b[0], b[1]), f16At(b[2], b[3])
		qh := binary.LittleEndian.Uint32(b[4:])
		for j := 0; j < 16; j++ {
			x0 := b[8+j]&15 | byte(qh>>j<<4)&0x10
			x1 := b[8+j]>>4 | byte(qh>>(j+12))&0x10
			y[j] = float32(float32(x0)*d) + m
			y[j+16] = float32(float32(x1)*d) + m
		}
	}
}

// quantizeQ5_1 is quantize_row_q5_1_ref: d = (max-min)/31, m = min.
func quantizeQ5_1(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*24]
	for i := 0; i < nb; i++ {
		x := (*[32]float32)(src[i*32:])
		b := (*[24]byte)(dst[i*24:])
		mn, id := scaleMinHeader((*[4]byte)(b[:4]), x, 31)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := uint8(float32((x[j]-mn)*id) + 0.5)
			x1 := uint8(float32((x[j+16]-mn)*id) + 0.5)
			b[8+j] = x0&15 | (x1&15)<<4
			qh |= uint32(x0&0x10) >> 4 << j
			qh |= uint32(x1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

func dotQ5_1(w []byte, v *Vector) float32 {
	nb := v.n / 32
	w = w[:nb*24]
	q := v.q[:nb*32]
	s := v.s[:nb]
	var sum, summs float32
	for i, dy := range v.d[:nb] {
		b := (*[24]byte)(w[i*24:])
		a := (*[32]int8)(q[i*32:])
		si := dotNibbles5((*[16]byte)(b[8:]), binary.LittleEndian.Uint32(b[4:]), a)
		sum += float32(si) * (f16At(b[0], b[1]) * dy)
		summs += float32(f16At(b[2], b[3]) * s[i])
	}
	return sum + summs
}
