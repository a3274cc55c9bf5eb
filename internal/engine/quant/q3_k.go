package quant

import "encoding/binary"

// Q3_K: super-blocks of 256 elements, 110 bytes: 32 bytes hmask of high
// bits (bit m of hmask[k] for element 32m+k), 64 bytes of 2-bit low parts
// laid out as in Q2_K, 12 bytes packing sixteen 6-bit scales, f16 d.
// x = d*(scale-32)*(q-4), q the 3-bit value. Dot products run against
// Q8_K activations.

var _ = register(Q3_K, &kernel{vecDotType: Q8_K, dequantize: dequantizeQ3_K, quantize: quantizeQ3_K, dot: dotQ3_K})

// q3Scales unpacks the sixteen 6-bit scales, minus 32: the low nibbles
// are in bytes 0-7 (scales 0-7 low, 8-15 high), the top two bits in bytes
// 8-11 (scale j at bits 2(j/4) of byte 8+j%4).
func q3Scales(p *[12]byte) (s [16]int32) {
	for j := range s {
		lo := p[j%8] >> (4 * (j / 8)) & 15
		hi := p[8+j%4] >> (2 * (j / 4)) & 3
		s[j] = int32(lo|hi<<4) - 32
	}
	return s
}

// q3At is element e's 3-bit quant minus 4.
func q3At(b *[110]byte, e int) int32 {
	h, r := e/128, e%128
	q := int32(b[32+32*h+r%32] >> (2 * (r / 32)) & 3)
	if b[e%32]>>(e/32)&1 == 0 {
		q -= 4
	}
	return q
}

func dequantizeQ3_K(dst []float32, src []byte) {
	nb := len(dst) / 256
	src = src[:nb*110]
	for i := 0; i < nb; i++ {
		b := (*[110]byte)(src[i*110:])
		y := (*[256]float32)(dst[i*256:])
		d := f16At(b[108], b[109])
		sc := q3Scales((*[12]byte)(b[96:]))
		for e := range y {
			y[e] = float32(d*float32(sc[e/16])) * float32(q3At(b, e))
		}
	}
}

// quantizeQ3_K is quantize_row_q3_K_ref.
func quantizeQ3_K(dst []byte, src []float32) {
	nb := len(src) / 256
	dst = dst[:nb*110]
	var l [256]int8
	var scales [16]float32
	for i := 0; i < nb; i++ {
		x := (*[256]float32)(src[i*256:])
		b := (*[110]byte)(dst[i*110:])
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3Quants(x[16*j:16*j+16], 4, l[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		ps := (*[12]byte)(b[96:])
		*ps = [12]byte{}
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				q := int32(int8(nearestInt(float32(iscale * scales[j]))))
				q = clampInt(q, -32, 31) + 32
				if j < 8 {
					ps[j] = byte(q & 15)
				} else {
					ps[j-8] |= byte(q&15) << 4
				}
				ps[8+j%4] |= byte(q>>4) << (2 * (j / 4))
			}
			binary.LittleEndian.PutUint16(b[108:], F32ToF16(1/iscale))
		} else {
			binary.LittleEndian.PutUint16(b[108:], 0)
		}
		d := f16At(b[108], b[109])
		sc := q3Scales(ps)
		for j := 0; j < 16; j++ {
			dj := d * float32(int8(sc[j]))
			if dj == 0 {
				continue
			}
			for k := 0; k < 16; k++ {
				l[16*j+k] = int8(clampInt(nearestInt(x[16*j+k]/dj), -4, 3) + 4)
			}
		}
		hm := (*[32]byte)(b[0:])
		*hm = [32]byte{}
		var lu [256]uint8
		for e, q := range l {
			if q > 3 {
				hm[e%32] |= 1 << (e / 32)
				q -= 4
			}
			lu[e] = uint8(q)
		}
		packQ2(b[32:96], &lu)
	}
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse: a scale from the
// element of largest magnitude, then up to five rounds of moving single
// quants to shrink the x²-weighted error. It leaves l = q + nmax.
func makeQ3Quants(x []float32, nmax int32, l []int8) float32 {
	var max, amax float32
	for _, f := range x {
		if a := abs32(f); a > amax {
			amax, max = a, f
		}
	}
	if amax < groupMaxEps {
		for i := range l[:len(x)] {
			l[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / max
	var sumLX, sumL2 float32
	for i, f := range x {
		q := clampInt(nearestInt(float32(iscale*f)), -nmax, nmax-1)
		l[i] = int8(q)
		w := float32(f * f)
		sumLX += float32(float32(w*f) * float32(q))
		sumL2 += float32(float32(w*float32(q)) * float32(q))
	}
	for try := 0; try < 5; try++ {
		changed := 0
		for i, f := range x {
			w := float32(f * f)
			li := float32(l[i])
			slx := sumLX - float32(float32(w*f)*li)
			if slx > 0 {
				sl2 := sumL2 - float32(float32(w*li)*li)
				nl := clampInt(nearestInt(float32(f*sl2)/slx), -nmax, nmax-1)
				if nl != int32(l[i]) {
					fl := float32(nl)
					slx += float32(float32(w*f) * fl)
					sl2 += float32(float32(w*fl) * fl)
					if sl2 > 0 && float32(float32(slx*slx)*sumL2) > float32(float32(sumLX*sumLX)*sl2) {
						l[i] = int8(nl)
						sumLX, sumL2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		l[i] += int8(nmax)
	}
	if sumL2 > 0 {
		return sumLX / sumL2
	}
	return 0
}

func dotQ3_K(w []byte, v *Vector) float32 {
	nb := v.n / 256
	w = w[:nb*110]
	q8 := v.q[:nb*256]
	var sum float32
	for i, dy := range v.d[:nb] {
		b := (*[110]byte)(w[i*110:])
		a := (*[256]int8)(q8[i*256:])
		sc := q3Scales((*[12]byte)(b[96:]))
		hm := (*[32]byte)(b[0:])
		bs := (*[16]int16)(v.bsums[i*16:])
		var sumi int32
		for h := 0; h < 2; h++ {
			g := dotQ3Half((*[32]byte)(b[32+32*h:]), hm, uint(4*h), (*[128]int8)(a[128*h:]))
			for k, s := range g {
				sumi += sc[8*h+k] * (s - 4*int32(bs[8*h+k]))
			}
		}
		sum += float32(f16At(b[108], b[109])*dy) * float32(sumi)
	}
	return sum
}
