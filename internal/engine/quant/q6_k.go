package quant

import "encoding/binary"

// Q6_K: super-blocks of 256 elements, 210 bytes: 128 bytes ql of low
// nibbles, 64 bytes qh of 2-bit high parts, 16 int8 scales (one per 16
// elements), f16 d. Each 128-element half uses 64 bytes of ql and 32 of
// qh: element l, l+32, l+64, l+96 (l < 32) take ql[l] low, ql[l+32] low,
// ql[l] high, ql[l+32] high and bits 0-1, 2-3, 4-5, 6-7 of qh[l].
// x = d*scale*(q-32). Dot products run against Q8_K activations.

var _ = register(Q6_K, &kernel{vecDotType: Q8_K, dequantize: dequantizeQ6_K, quantize: quantizeQ6_K, dot: dotQ6_K})

func dequantizeQ6_K(dst []float32, src []byte) {
	nb := len(dst) / 256
	src = src[:nb*210]
	for i := 0; i < nb; i++ {
		b := (*[210]byte)(src[i*210:])
		y := (*[256]float32)(dst[i*256:])
		d := f16At(b[208], b[209])
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			sc := (*[8]byte)(b[192+8*n:])
			yy := (*[128]float32)(y[128*n:])
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&15|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&15|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				yy[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yy[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yy[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yy[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

// quantizeQ6_K is quantize_row_q6_K_ref.
func quantizeQ6_K(dst []byte, src []float32) {
	nb := len(src) / 256
	dst = dst[:nb*210]
	var l [256]int8
	var scales [16]float32
	for i := 0; i < nb; i++ {
		x := (*[256]float32)(src[i*256:])
		b := (*[210]byte)(dst[i*210:])
		var maxScale, maxAbsScale float32
		for ib := 0; ib < 16; ib++ {
			s := makeQXQuants(x[16*ib:16*ib+16], 32, l[16*ib:16*ib+16])
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			*b = [210]byte{}
			continue
		}
		iscale := -128 / maxScale
		binary.LittleEndian.PutUint16(b[208:], F32ToF16(1/iscale))
		sc := (*[16]byte)(b[192:])
		for ib := range sc {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d := f16At(b[208], b[209])
		for j := 0; j < 16; j++ {
			dj := d * float32(int8(sc[j]))
			if dj == 0 {
				continue
			}
			for k := 0; k < 16; k++ {
				l[16*j+k] = int8(clampInt(nearestInt(x[16*j+k]/dj), -32, 31) + 32)
			}
		}
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			ll := (*[128]int8)(l[128*n:])
			for k := 0; k < 32; k++ {
				q1, q2, q3, q4 := byte(ll[k]), byte(ll[k+32]), byte(ll[k+64]), byte(ll[k+96])
				ql[k] = q1&15 | (q3&15)<<4
				ql[k+32] = q2&15 | (q4&15)<<4
				qh[k] = q1>>4 | q2>>4<<2 | q3>>4<<4 | q4>>4<<6
			}
		}
	}
}

func dotQ6_K(w []byte, v *Vector) float32 {
	nb := v.n / 256
	w = w[:nb*210]
	q8 := v.q[:nb*256]
	bsums := v.bsums[:nb*16]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[210]byte)(w[i*210:])
		a := (*[256]int8)(q8[i*256:])
		bs := (*[16]int16)(bsums[i*16:])
		var sumi int32
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			sc := (*[8]byte)(b[192+8*n:])
			aa := (*[128]int8)(a[128*n:])
			g0, g2, g4, g6 := dotQ6Quarter((*[16]byte)(ql[0:]), (*[16]byte)(ql[32:]), (*[16]byte)(qh[0:]),
				(*[16]int8)(aa[0:]), (*[16]int8)(aa[32:]), (*[16]int8)(aa[64:]), (*[16]int8)(aa[96:]))
			g1, g3, g5, g7 := dotQ6Quarter((*[16]byte)(ql[16:]), (*[16]byte)(ql[48:]), (*[16]byte)(qh[16:]),
				(*[16]int8)(aa[16:]), (*[16]int8)(aa[48:]), (*[16]int8)(aa[80:]), (*[16]int8)(aa[112:]))
			bs8 := (*[8]int16)(bs[8*n:])
			sumi += int32(int8(sc[0]))*(g0-32*int32(bs8[0])) + int32(int8(sc[1]))*(g1-32*int32(bs8[1])) +
				int32(int8(sc[2]))*(g2-32*int32(bs8[2])) + int32(int8(sc[3]))*(g3-32*int32(bs8[3])) +
				int32(int8(sc[4]))*(g4-32*int32(bs8[4])) + int32(int8(sc[5]))*(g5-32*int32(bs8[5])) +
				int32(int8(sc[6]))*(g6-32*int32(bs8[6])) + int32(int8(sc[7]))*(g7-32*int32(bs8[7]))
		}
		sum += float32(f16At(b[208], b[209])*dy) * float32(sumi)
	}
	return sum
}
