package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Vector is an activation row converted to a vec-dot type (F32, F16, BF16,
// Q8_0, Q8_1 or Q8_K), ready for dot products with weight rows. Converting
// once and reusing the result for every weight row is what makes
// matrix-vector products cheap. The zero value is empty; Quantize fills it
// and reuses its buffers, so a long-lived Vector stops allocating.
type Vector struct {
	typ Type
	n   int
	// f holds F32 values, or F16/BF16 values already rounded to that type.
	f []float32
	// q holds the 8-bit quants of Q8_0, Q8_1 and Q8_K.
	q []int8
	// d holds each block's scale as the dot products use it (the f16
	// value widened for Q8_0 and Q8_1).
	d []float32
	// s holds Q8_1's per-block f16(d*sum(q)), widened.
	s []float32
	// isum holds Q8_0's per-block sum of q, used to apply the offset of
	// Q4_0 and Q5_0 weights once per block.
	isum []int32
	// bsums holds Q8_K's sums of each 16 quants.
	bsums []int16
}

// Type is the vec-dot type the vector holds.
func (v *Vector) Type() Type { return v.typ }

// Len is the number of elements.
func (v *Vector) Len() int { return v.n }

// Quantize converts x to type t, which must be a vec-dot type: F32, F16,
// BF16, Q8_0, Q8_1 or Q8_K. The quantisers are the ones llama.cpp's x86
// CPU backend runs (AVX2 for Q8_0 and Q8_1: scale 127/amax and rounding
// half to even; the reference quantiser for Q8_K), so the quants match it
// bit for bit.
func (v *Vector) Quantize(t Type, x []float32) error {
	switch t {
	case F32, F16, BF16, Q8_0, Q8_1, Q8_K:
	default:
		if !t.Known() {
			return fmt.Errorf("%w %d", ErrUnknownType, uint32(t))
		}
		return fmt.Errorf("%w: %s is not a vec-dot type", ErrUnsupported, t)
	}
	if _, err := t.RowBytes(len(x)); err != nil {
		return err
	}
	v.typ, v.n = t, len(x)
	switch t {
	case F32:
		v.f = grow(v.f, len(x))
		copy(v.f, x)
	case F16:
		v.f = grow(v.f, len(x))
		act.f16(v.f, x)
	case BF16:
		v.f = grow(v.f, len(x))
		for i, f := range x {
			v.f[i] = BF16ToF32(F32ToBF16(f))
		}
	case Q8_0, Q8_1:
		nb := len(x) / 32
		v.q = grow(v.q, len(x))
		v.d = grow(v.d, nb)
		v.isum = grow(v.isum, nb)
		if t == Q8_1 {
			v.s = grow(v.s, nb)
		}
		act.q8(v, x, t == Q8_1)
	case Q8_K:
		nb := len(x) / 256
		v.q = grow(v.q, len(x))
		v.d = grow(v.d, nb)
		v.bsums = grow(v.bsums, nb*16)
		act.q8K(v, x)
	}
	return nil
}

// roundF16 rounds each value to half precision and back.
func roundF16(dst, x []float32) {
	for i, f := range x {
		dst[i] = F16ToF32(F32ToF16(f))
	}
}

// quantizeQ8K converts whole blocks of 256 to Q8_K.
func quantizeQ8K(v *Vector, x []float32) {
	for i := range v.d {
		quantizeQ8KBlock((*[256]float32)(x[i*256:]), (*[256]int8)(v.q[i*256:]), &v.d[i], (*[16]int16)(v.bsums[i*16:]))
	}
}

// quantizeQ8Act is ggml's AVX2 quantize_row_q8_0 / q8_1: d = amax/127
// stored as f16, quants round(x*127/amax) half to even, saturated to int8,
// and for Q8_1 s = f16(d*sum), sum being that of the int32 quants before
// saturation, as ggml adds them.
//
// A product x*id outside int32's range converts, as VCVTPS2DQ converts
// it, to the "integer indefinite" -2^31 (saturated: -128). That happens
// only when 127/amax overflows to +Inf (amax below about 3.7e-37; d is
// then 0 as f16) or for a NaN: ggml's AVX2 code then gives -128 even for
// the block's zeros (0·Inf is NaN), and so does this.
func quantizeQ8Act(v *Vector, x []float32, withSum bool) {
	for i := range v.d {
		b := (*[32]float32)(x[i*32:])
		q := (*[32]int8)(v.q[i*32:])
		var amax float32
		odd := false // a NaN in the block
		for _, f := range b {
			if a := abs32(f); !(a <= amax) {
				if a != a {
					odd = true
				} else {
					amax = a
				}
			}
		}
		d := amax / 127
		v.d[i] = F16ToF32(F32ToF16(d))
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		// Besides NaN inputs, x*id can be Inf or NaN only if id is +Inf
		// or amax is (then id = 0 and Inf*0 is NaN).
		odd = odd || id > math.MaxFloat32 || amax > math.MaxFloat32
		var sum int32
		if !odd {
			for j, f := range b {
				r := nearestInt(f * id)
				sum += r
				q[j] = sat8(r)
			}
		} else {
			for j, f := range b {
				p := f * id
				r := int32(math.MinInt32)
				if abs32(p) < 1<<22 { // false for Inf and NaN
					r = nearestInt(p)
				}
				sum += r
				q[j] = sat8(r)
			}
		}
		v.isum[i] = sum
		if withSum {
			v.s[i] = F16ToF32(F32ToF16(d * float32(sum)))
		}
	}
}

func sat8(r int32) int8 {
	if r > 127 {
		return 127
	}
	if r < -128 {
		return -128
	}
	return int8(r)
}

// quantizeQ8KBlock is ggml's quantize_row_q8_K_ref for one block: the
// element of largest magnitude maps to -127, so d may be negative.
func quantizeQ8KBlock(x *[256]float32, q *[256]int8, d *float32, bsums *[16]int16) {
	var max, amax float32
	for _, f := range x {
		if a := abs32(f); a > amax {
			amax, max = a, f
		}
	}
	if amax == 0 || amax != amax {
		*d = 0
		*q = [256]int8{}
		*bsums = [16]int16{}
		return
	}
	iscale := -127 / max
	for j, f := range x {
		r := nearestInt(iscale * f)
		if r > 127 {
			r = 127
		}
		q[j] = int8(r)
	}
	for j := range bsums {
		var s int16
		for _, v := range q[j*16 : j*16+16] {
			s += int16(v)
		}
		bsums[j] = s
	}
	*d = 1 / iscale
}

// AppendGGML appends the vector in ggml's block layout for its type (the
// bytes llama.cpp would hold for the same activation row).
func (v *Vector) AppendGGML(b []byte) []byte {
	switch v.typ {
	case F32:
		for _, f := range v.f[:v.n] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	case F16:
		for _, f := range v.f[:v.n] {
			b = binary.LittleEndian.AppendUint16(b, F32ToF16(f))
		}
	case BF16:
		for _, f := range v.f[:v.n] {
			b = binary.LittleEndian.AppendUint16(b, F32ToBF16(f))
		}
	case Q8_0, Q8_1:
		for i := 0; i < v.n/32; i++ {
			b = binary.LittleEndian.AppendUint16(b, F32ToF16(v.d[i]))
			if v.typ == Q8_1 {
				b = binary.LittleEndian.AppendUint16(b, F32ToF16(v.s[i]))
			}
			for _, q := range v.q[i*32 : i*32+32] {
				b = append(b, byte(q))
			}
		}
	case Q8_K:
		for i := 0; i < v.n/256; i++ {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v.d[i]))
			for _, q := range v.q[i*256 : i*256+256] {
				b = append(b, byte(q))
			}
			for _, s := range v.bsums[i*16 : i*16+16] {
				b = binary.LittleEndian.AppendUint16(b, uint16(s))
			}
		}
	}
	return b
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// dequantizeInto writes the values the vector stands for (q*d for the
// 8-bit types) into dst, for tests and error bounds.
func (v *Vector) dequantizeInto(dst []float32) {
	switch v.typ {
	case F32, F16, BF16:
		copy(dst, v.f[:v.n])
	case Q8_0, Q8_1:
		for i := range dst[:v.n] {
			dst[i] = float32(v.q[i]) * v.d[i/32]
		}
	case Q8_K:
		for i := range dst[:v.n] {
			dst[i] = float32(v.q[i]) * v.d[i/256]
		}
	}
}
