package quant

// Q5_K: super-blocks of 256 elements, 176 bytes: f16 d, f16 dmin, 12 bytes
// of 6-bit scales and mins as in Q4_K, 32 bytes qh of fifth bits (bit 2j
// and 2j+1 of qh[l] for the j-th 64-element run), then 128 bytes of low
// nibbles laid out as in Q4_K. x = d*scale*q - dmin*min. Dot products run
// against Q8_K activations.

var _ = register(Q5_K, &kernel{vecDotType: Q8_K, dequantize: dequantizeQ5_K, quantize: quantizeQ5_K, dot: dotQ5_K})

func dequantizeQ5_K(dst []float32, src []byte) {
	nb := len(dst) / 256
	src = src[:nb*176]
	for i := 0; i < nb; i++ {
		b := (*[176]byte)(src[i*176:])
		y := (*[256]float32)(dst[i*256:])
		d, dmin := f16At(b[0], b[1]), f16At(b[2], b[3])
		scales := (*[12]byte)(b[4:])
		qh := (*[32]byte)(b[16:])
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			d1, dm1 := d*float32(sc1), dmin*float32(m1)
			d2, dm2 := d*float32(sc2), dmin*float32(m2)
			u1, u2 := byte(1)<<(2*j), byte(2)<<(2*j)
			q := (*[32]byte)(b[48+32*j:])
			lo := (*[32]float32)(y[64*j:])
			hi := (*[32]float32)(y[64*j+32:])
			for l, v := range q {
				q1, q2 := v&15, v>>4
				if qh[l]&u1 != 0 {
					q1 += 16
				}
				if qh[l]&u2 != 0 {
					q2 += 16
				}
				lo[l] = float32(d1*float32(q1)) - dm1
				hi[l] = float32(d2*float32(q2)) - dm2
			}
		}
	}
}

// quantizeQ5_K is quantize_row_q5_K_ref.
func quantizeQ5_K(dst []byte, src []float32) {
	nb := len(src) / 256
	dst = dst[:nb*176]
	var l [256]uint8
	for i := 0; i < nb; i++ {
		x := (*[256]float32)(src[i*256:])
		b := (*[176]byte)(dst[i*176:])
		quantizeKScaleMin(x, (*[16]byte)(b[:16]), &l, 31, -0.5, 15)
		qh := (*[32]byte)(b[16:])
		*qh = [32]byte{}
		for j := 0; j < 4; j++ {
			m1, m2 := byte(1)<<(2*j), byte(2)<<(2*j)
			ql := (*[32]byte)(b[48+32*j:])
			for k := range ql {
				l1, l2 := l[64*j+k], l[64*j+32+k]
				if l1 > 15 {
					l1 -= 16
					qh[k] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[k] |= m2
				}
				ql[k] = l1 | l2<<4
			}
		}
	}
}

func dotQ5_K(w []byte, v *Vector) float32 {
	nb := v.n / 256
	w = w[:nb*176]
	q8 := v.q[:nb*256]
	bsums := v.bsums[:nb*16]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[176]byte)(w[i*176:])
		a := (*[256]int8)(q8[i*256:])
		bs := (*[16]int16)(bsums[i*16:])
		scales := (*[12]byte)(b[4:])
		qh := (*[32]byte)(b[16:])
		var sumi, summ int32
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			s1, s2 := dotNibbles32x5((*[32]byte)(b[48+32*j:]), qh, uint(2*j), (*[64]int8)(a[64*j:]))
			sumi += int32(sc1)*s1 + int32(sc2)*s2
			summ += int32(m1)*(int32(bs[4*j])+int32(bs[4*j+1])) + int32(m2)*(int32(bs[4*j+2])+int32(bs[4*j+3]))
		}
		sum += float32(f16At(b[0], b[1])*dy)*float32(sumi) - float32(f16At(b[2], b[3])*dy)*float32(summ)
	}
	return sum
}
