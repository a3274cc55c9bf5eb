package quant

import "encoding/binary"

// Q2_K: super-blocks of 256 elements, 84 bytes: 16 bytes of scales (low
// nibble the scale, high nibble the min of each 16 elements), 64 bytes of
// 2-bit quants, f16 d, f16 dmin. Each 128-element half uses 32 bytes of
// quants: element 32j+l of the half (l < 32) is bits 2j-2j+1 of byte l.
// x = d*scale*q - dmin*min. Dot products run against Q8_K activations.

var _ = register(Q2_K, &kernel{vecDotType: Q8_K, dequantize: dequantizeQ2_K, quantize: quantizeQ2_K, dot: dotQ2_K})

func dequantizeQ2_K(dst []float32, src []byte) {
	nb := len(dst) / 256
	src = src[:nb*84]
	for i := 0; i < nb; i++ {
		b := (*[84]byte)(src[i*84:])
		y := (*[256]float32)(dst[i*256:])
		d, dmin := f16At(b[80], b[81]), f16At(b[82], b[83])
		for e := range y {
			sc := b[e/16]
			q := b[16+32*(e/128)+e%32] >> (2 * (e % 128 / 32)) & 3
			y[e] = float32(d*float32(sc&15))*float32(int8(q)) - dmin*float32(sc>>4)
		}
	}
}

// quantizeQ2_K is quantize_row_q2_K_ref.
func quantizeQ2_K(dst []byte, src []float32) {
	nb := len(src) / 256
	dst = dst[:nb*84]
	var l [256]uint8
	var laux [16]uint8
	var weights [16]float32
	var scales, mins [16]float32
	for i := 0; i < nb; i++ {
		x := (*[256]float32)(src[i*256:])
		b := (*[84]byte)(dst[i*84:])
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			xs := x[16*j : 16*j+16]
			for k, f := range xs {
				weights[k] = abs32(f)
			}
			scales[j], mins[j] = makeQKX2Quants(xs, weights[:], 3, l[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		sc := (*[16]byte)(b[0:])
		if maxScale > 0 {
			iscale := 15 / maxScale
			for j := range sc {
				sc[j] = byte(nearestInt(float32(iscale * scales[j])))
			}
			binary.LittleEndian.PutUint16(b[80:], F32ToF16(maxScale/15))
		} else {
			*sc = [16]byte{}
			binary.LittleEndian.PutUint16(b[80:], 0)
		}
		if maxMin > 0 {
			iscale := 15 / maxMin
			for j := range sc {
				sc[j] |= byte(nearestInt(float32(iscale*mins[j])) << 4)
			}
			binary.LittleEndian.PutUint16(b[82:], F32ToF16(maxMin/15))
		} else {
			binary.LittleEndian.PutUint16(b[82:], 0)
		}
		d, dmin := f16At(b[80], b[81]), f16At(b[82], b[83])
		for j := 0; j < 16; j++ {
			dj := d * float32(sc[j]&15)
			if dj == 0 {
				continue
			}
			dm := dmin * float32(sc[j]>>4)
			for k := 0; k < 16; k++ {
				l[16*j+k] = uint8(clampInt(nearestInt((x[16*j+k]+dm)/dj), 0, 3))
			}
		}
		packQ2(b[16:80], &l)
	}
}

// packQ2 stores 256 2-bit values: byte 32h+k of a half h holds elements
// k, k+32, k+64 and k+96 of that half, lowest bits first.
func packQ2(qs []byte, l *[256]uint8) {
	for h := 0; h < 2; h++ {
		for k := 0; k < 32; k++ {
			e := 128*h + k
			qs[32*h+k] = l[e] | l[e+32]<<2 | l[e+64]<<4 | l[e+96]<<6
		}
	}
}

func dotQ2_K(w []byte, v *Vector) float32 {
	nb := v.n / 256
	w = w[:nb*84]
	q8 := v.q[:nb*256]
	bsums := v.bsums[:nb*16]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[84]byte)(w[i*84:])
		a := (*[256]int8)(q8[i*256:])
		bs := (*[16]int16)(bsums[i*16:])
		var sumi, summ int32
		for j, sc := range b[:16] {
			summ += int32(sc>>4) * int32(bs[j])
		}
		for h := 0; h < 2; h++ {
			g := dotQ2Half((*[32]byte)(b[16+32*h:]), (*[128]int8)(a[128*h:]))
			sc := (*[8]byte)(b[8*h:])
			for k, s := range g {
				sumi += int32(sc[k]&15) * s
			}
		}
		sum += float32(f16At(b[80], b[81])*dy)*float32(sumi) - float32(f16At(b[82], b[83])*dy)*float32(summ)
	}
	return sum
}
