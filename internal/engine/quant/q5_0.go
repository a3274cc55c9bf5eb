package quant

import "encoding/binary"

// Q5_0: blocks of 32 elements, 22 bytes: f16 scale d, a little-endian u32
// qh of fifth bits (bit j for element j), then 16 bytes of low nibbles as
// in Q4_0; x = (q-16)*d. Dot products run against Q8_0 activations.

var _ = register(Q5_0, &kernel{vecDotType: Q8_0, dequantize: dequantizeQ5_0, quantize: quantizeQ5_0, dot: dotQ5_0})

func dequantizeQ5_0(dst []float32, src []byte) {
	nb := len(dst) / 32
	src = src[:nb*22]
	for i := 0; i < nb; i++ {
		b := (*[22]byte)(src[i*22:])
		y := (*[32]float32)(dst[i*32:])
		d := f16At(b[0], b[1])
		qh := binary.LittleEndian.Uint32(b[2:])
		for j := 0; j < 16; j++ {
			x0 := int32(b[6+j]&15|byte(qh>>j<<4)&0x10) - 16
			x1 := int32(b[6+j]>>4|byte(qh>>(j+12))&0x10) - 16
			y[j] = float32(x0) * d
			y[j+16] = float32(x1) * d
		}
	}
}

// quantizeQ5_0 is quantize_row_q5_0_ref: the element of largest magnitude
// maps to -16.
func quantizeQ5_0(dst []byte, src []float32) {
	nb := len(src) / 32
	dst = dst[:nb*22]
	for i := 0; i < nb; i++ {
		x := (*[32]float32)(src[i*32:])
		b := (*[22]byte)(dst[i*22:])
		var amax, max float32
		for _, f := range x {
			if a := abs32(f); amax < a {
				amax, max = a, f
			}
		}
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(b[0:], F32ToF16(d))
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := byte(min(31, int8(float32(x[j]*id)+16.5)))
			x1 := byte(min(31, int8(float32(x[j+16]*id)+16.5)))
			b[6+j] = x0&15 | (x1&15)<<4
			qh |= uint32(x0&0x10) >> 4 << j
			qh |= uint32(x1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

func dotQ5_0(w []byte, v *Vector) float32 {
	nb := v.n / 32
	w = w[:nb*22]
	q := v.q[:nb*32]
	isum := v.isum[:nb]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[22]byte)(w[i*22:])
		a := (*[32]int8)(q[i*32:])
		s := dotNibbles5((*[16]byte)(b[6:]), binary.LittleEndian.Uint32(b[2:]), a) - 16*isum[i]
		sum += float32(s) * (f16At(b[0], b[1]) * dy)
	}
	return sum
}
