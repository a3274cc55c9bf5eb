//go:build !purego

package model

import (
	"math"

	"golang.org/x/sys/cpu"
)

// haveAsm reports whether this CPU runs attnkern_amd64.s: AVX2, FMA and
// F16C, the features of quant's avx2 tier.
var haveAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// The assembly takes whole groups of eight elements; these wrappers check
// the lengths, once, and finish any tail in Go.

//go:noescape
func widenF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func scoresF32AVX2(dst, q, k *float32, nk, dim int, scale float32) float32

//go:noescape
func expSumAVX2(p *float32, n int, m float32, c *expConsts) float32

//go:noescape
func accPVAVX2(out, p, v *float32, nk, dim int)

//go:noescape
func dotsF16AVX2(out, q *float32, k *uint16, nh, dim int, scale float32)

//go:noescape
func madF16sAVX2(acc *float32, v *uint16, s *float32, nh, dim int)

func widenF16Asm(dst []float32, src []uint16) {
	n := len(src) &^ 7
	if n > 0 {
		_ = dst[n-1]
		widenF16AVX2(&dst[0], &src[0], n)
	}
	for i := n; i < len(src); i++ {
		dst[i] = f16ToF32(src[i])
	}
}

func scoresF32Asm(dst, q, k []float32, scale float32) float32 {
	if len(dst) == 0 {
		return float32(math.Inf(-1))
	}
	_ = k[len(dst)*len(q)-1]
	return scoresF32AVX2(&dst[0], &q[0], &k[0], len(dst), len(q), scale)
}

// expConsts are expf's constants, as expf spells them, for the assembly.
type expConsts struct {
	log2e, half, ln2Hi, ln2Lo float64
	c                         [7]float64 // 1/7! … 1/1!, Horner's order
	one                       float64
	lo, hi, inf               float32 // expf's range and its value above it
}

var expC = expConsts{
	log2e: 1.4426950408889634, half: 0.5,
	ln2Hi: 6.93147180369123816490e-01, ln2Lo: 1.90821492927058770002e-10,
	c:   [7]float64{1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1},
	one: 1,
	lo:  -104, hi: 88.73, inf: float32(math.Inf(1)),
}

func expSumAsm(p []float32, m float32) float32 {
	n := len(p) &^ 7
	var sum float32
	if n > 0 {
		sum = expSumAVX2(&p[0], n, m, &expC)
	}
	for i := n; i < len(p); i++ {
		e := expf(p[i] - m)
		p[i] = e
		sum += e
	}
	return sum
}

func accPVAsm(out, p, v []float32) {
	if len(p) == 0 {
		return
	}
	_ = v[len(p)*len(out)-1]
	accPVAVX2(&out[0], &p[0], &v[0], len(p), len(out))
}

func dotsF16Asm(out, q []float32, k []uint16, scale float32) {
	if len(out) == 0 {
		return
	}
	_ = q[len(out)*len(k)-1]
	dotsF16AVX2(&out[0], &q[0], &k[0], len(out), len(k), scale)
}

func madF16sAsm(acc []float32, v []uint16, s []float32) {
	if len(s) == 0 {
		return
	}
	_ = acc[len(s)*len(v)-1]
	madF16sAVX2(&acc[0], &v[0], &s[0], len(s), len(v))
}
