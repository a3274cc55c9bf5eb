package quant

import "encoding/binary"

// Q4_K: super-blocks of 256 elements, 144 bytes: f16 d, f16 dmin, 12 bytes
// packing eight 6-bit scales and mins (one pair per 32 elements), then 128
// bytes of nibbles: each 32-byte run holds 64 elements, low nibbles first.
// x = d*scale*q - dmin*min. Dot products run against Q8_K activations.

var _ = register(Q4_K, &kernel{vecDotType: Q8_K, dequantize: dequantizeQ4_K, quantize: quantizeQ4_K, dot: dotQ4_K})

func dequantizeQ4_K(dst []float32, src []byte) {
	nb := len(dst) / 256
	src = src[:nb*144]
	for i := 0; i < nb; i++ {
		b := (*[144]byte)(src[i*144:])
		y := (*[256]float32)(dst[i*256:])
		d, dmin := f16At(b[0], b[1]), f16At(b[2], b[3])
		scales := (*[12]byte)(b[4:])
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			d1, dm1 := d*float32(sc1), dmin*float32(m1)
			d2, dm2 := d*float32(sc2), dmin*float32(m2)
			q := (*[32]byte)(b[16+32*j:])
			lo := (*[32]float32)(y[64*j:])
			hi := (*[32]float32)(y[64*j+32:])
			for l, v := range q {
				lo[l] = float32(d1*float32(v&15)) - dm1
				hi[l] = float32(d2*float32(v>>4)) - dm2
			}
		}
	}
}

// quantizeQ4_K is quantize_row_q4_K_ref.
func quantizeQ4_K(dst []byte, src []float32) {
	nb := len(src) / 256
	dst = dst[:nb*144]
	var l [256]uint8
	for i := 0; i < nb; i++ {
		x := (*[256]float32)(src[i*256:])
		b := (*[144]byte)(dst[i*144:])
		quantizeKScaleMin(x, (*[16]byte)(b[:16]), &l, 15, -1, 20)
		for j := 0; j < 4; j++ {
			q := (*[32]byte)(b[16+32*j:])
			for k := range q {
				q[k] = l[64*j+k] | l[64*j+32+k]<<4
			}
		}
	}
}

// packKScales stores the super-block scales d and dmin and the 6-bit
// sub-block scales and mins of Q4_K and Q5_K (b[0:16]).
func packKScales(b *[16]byte, scales, mins *[8]float32, maxScale, maxMin float32) {
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := range ls {
		ls[j] = min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm[j] = min(63, uint8(nearestInt(float32(invMin*mins[j]))))
	}
	binary.LittleEndian.PutUint16(b[0:], F32ToF16(maxScale/63))
	binary.LittleEndian.PutUint16(b[2:], F32ToF16(maxMin/63))
	packScaleMinK4((*[12]byte)(b[4:]), &ls, &lm)
}

// requantizeK recomputes the quants against the scales as stored; a
// sub-block whose scale is zero keeps the quants of the search.
func requantizeK(x *[256]float32, b *[16]byte, l *[256]uint8, nmax int32) {
	d, dmin := f16At(b[0], b[1]), f16At(b[2], b[3])
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, (*[12]byte)(b[4:]))
		dj := d * float32(sc)
		if dj == 0 {
			continue
		}
		dm := dmin * float32(m)
		for k := 0; k < 32; k++ {
			l[32*j+k] = uint8(clampInt(nearestInt((x[32*j+k]+dm)/dj), 0, nmax))
		}
	}
}

func dotQ4_K(w []byte, v *Vector) float32 {
	nb := v.n / 256
	w = w[:nb*144]
	q8 := v.q[:nb*256]
	bsums := v.bsums[:nb*16]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[144]byte)(w[i*144:])
		a := (*[256]int8)(q8[i*256:])
		bs := (*[16]int16)(bsums[i*16:])
		scales := (*[12]byte)(b[4:])
		var sumi, summ int32
		for j := 0; j < 4; j++ {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			s1, s2 := dotNibbles32((*[32]byte)(b[16+32*j:]), (*[64]int8)(a[64*j:]))
			sumi += int32(sc1)*s1 + int32(sc2)*s2
			summ += int32(m1)*(int32(bs[4*j])+int32(bs[4*j+1])) + int32(m2)*(int32(bs[4*j+2])+int32(bs[4*j+3]))
		}
		sum += float32(f16At(b[0], b[1])*dy)*float32(sumi) - float32(f16At(b[2], b[3])*dy)*float32(summ)
	}
	return sum
}
