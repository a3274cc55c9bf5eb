//go:build !purego

package quant

// The AVX2 tier's activation converters, in avx2_act_amd64.s. They give
// exactly the scalar converters' bytes:
//
//   - Q8_0/Q8_1: the maximum of |x| skips NaNs as the scalar comparison
//     does (see the .s file); amax/127 and 127/amax are the same IEEE
//     divisions; x·id is below 2^22 in magnitude whenever id is finite,
//     where VROUNDPS's round half to even is nearestInt's, and VCVTPS2DQ
//     gives -2^31 for an Inf or NaN product, as the scalar code does
//     explicitly; VPACKSSDW+VPACKSSWB saturate as sat8 does; isum is the
//     same wrapping int32 sum; the f16 roundings are F16C's, which
//     F32ToF16 matches bit for bit (TestGoldenConversions).
//   - Q8_K: the first element of largest magnitude is found by a second
//     pass; the quants repeat the scalar float trick instruction by
//     instruction (the add of 1.5·2^23, the mask, the subtraction, the
//     minimum with 127 and the truncation to int8), so they agree for
//     every input, Inf and NaN included.
//   - F16: VCVTPS2PH and VCVTPH2PS are the conversions the scalar
//     functions reproduce.
var avx2Act = actConverters{q8: quantizeQ8ActAVX2, q8K: quantizeQ8KActAVX2, f16: roundF16ActAVX2}

//go:noescape
func quantizeQ8AVX2(x *float32, q *int8, d *float32, isum *int32, s *float32, nb int)

//go:noescape
func quantizeQ8KAVX2(x *float32, q *int8, d *float32, bsums *int16, nb int)

//go:noescape
func roundF16AVX2(dst, x *float32, n int)

func quantizeQ8ActAVX2(v *Vector, x []float32, withSum bool) {
	nb := len(v.d)
	if nb == 0 {
		return
	}
	_ = x[nb*32-1]
	_ = v.q[nb*32-1]
	_ = v.isum[nb-1]
	var s *float32
	if withSum {
		_ = v.s[nb-1]
		s = &v.s[0]
	}
	quantizeQ8AVX2(&x[0], &v.q[0], &v.d[0], &v.isum[0], s, nb)
}

func quantizeQ8KActAVX2(v *Vector, x []float32) {
	nb := len(v.d)
	if nb == 0 {
		return
	}
	_ = x[nb*256-1]
	_ = v.q[nb*256-1]
	_ = v.bsums[nb*16-1]
	quantizeQ8KAVX2(&x[0], &v.q[0], &v.d[0], &v.bsums[0], nb)
}

func roundF16ActAVX2(dst, x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		_ = dst[n-1]
		roundF16AVX2(&dst[0], &x[0], n)
	}
	roundF16(dst[n:], x[n:])
}
