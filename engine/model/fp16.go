package model

import "math"

// The KV cache holds IEEE half floats, as llama.cpp's default (F16) cache
// does; these convert with round-to-nearest-even, like F16C's VCVTPS2PH.

// f16Table maps every half-float bit pattern to its float32 value.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = f16Decode(uint16(h))
	}
	return &t
}()

func f16ToF32(h uint16) float32 { return f16Table[h] }

func f16Decode(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: mant × 2^-24.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// f32ToF16 rounds f to the nearest half float, ties to even.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 // a quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		// Subnormal half: the full significand shifted into place.
		m := mant | 0x800000
		shift := uint32(14 - e)
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // a carry into the exponent is right, up to Inf
	}
	return sign | uint16(r)
}

// round16 returns f rounded to half precision, as a float32. Values in
// the half-normal range round in place on their float32 bits; the rest
// take the full conversion.
func round16(f float32) float32 {
	b := math.Float32bits(f)
	if (b>>23)&0xff-113 <= 142-113 { // 2^-14 <= |f| < 2^16
		b += 0xfff + (b>>13)&1
		b &^= 0x1fff
		if (b>>23)&0xff > 142 { // rounded past 65504
			return math.Float32frombits(b&0x80000000 | 0x7f800000)
		}
		return math.Float32frombits(b)
	}
	return f16Table[f32ToF16(f)]
}
