//go:build !purego

#include "textflag.h"

// Go assembler operand order is the reverse of Intel's: sources first,
// destination last; for VEX forms "OP src2, src1, dst".

// HSUM leaves the sum of Y0's eight floats in X0, using X14.
#define HSUM \
	VEXTRACTF128 $1, Y0, X14 \
	VADDPS       X14, X0, X0 \
	VMOVHLPS     X0, X14, X14 \
	VADDPS       X14, X0, X0 \
	VMOVSHDUP    X0, X14     \
	VADDSS       X14, X0, X0

// func widenF16AVX2(dst *float32, src *uint16, n int)
//
// dst[i] = float32(src[i]) for n > 0 halves, n a multiple of 8.
TEXT ·widenF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

widenloop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       widenloop
	VZEROUPPER
	RET

// func scoresF32AVX2(dst, q, k *float32, nk, dim int, scale float32) float32
//
// dst[j] = (q · k_j)·scale for nk > 0 key rows k_j of dim floats (a
// multiple of 8) at k + j·dim; returns the largest. Four keys at a time
// share each load of the query; each key has two accumulators (even and
// odd groups of eight), so that eight FMA chains run at once.
TEXT ·scoresF32AVX2(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), DX
	MOVQ k+16(FP), SI
	MOVQ nk+24(FP), CX
	MOVQ dim+32(FP), R8
	SHLQ $2, R8                  // a key row, in bytes
	LEAQ (R8)(R8*2), R12         // three rows
	MOVQ R8, R13
	SUBQ $64, R13                // the last offset where two groups fit
	VBROADCASTSS scale+40(FP), X15
	MOVL $0xff800000, AX         // -Inf
	VMOVD AX, X14
	VBROADCASTSS X14, X13        // X13: the running maximum, four lanes

four:
	CMPQ CX, $4
	JLT  one
	LEAQ (SI)(R8*1), R9
	LEAQ (SI)(R8*2), R10
	LEAQ (SI)(R12*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   BX, BX

fourpair:
	CMPQ BX, R13
	JGT  fourlast
	VMOVUPS     (DX)(BX*1), Y8
	VMOVUPS     32(DX)(BX*1), Y9
	VFMADD231PS (SI)(BX*1), Y8, Y0
	VFMADD231PS 32(SI)(BX*1), Y9, Y4
	VFMADD231PS (R9)(BX*1), Y8, Y1
	VFMADD231PS 32(R9)(BX*1), Y9, Y5
	VFMADD231PS (R10)(BX*1), Y8, Y2
	VFMADD231PS 32(R10)(BX*1), Y9, Y6
	VFMADD231PS (R11)(BX*1), Y8, Y3
	VFMADD231PS 32(R11)(BX*1), Y9, Y7
	ADDQ        $64, BX
	JMP         fourpair

fourlast:
	CMPQ BX, R8
	JGE  fourdone
	VMOVUPS     (DX)(BX*1), Y8
	VFMADD231PS (SI)(BX*1), Y8, Y0
	VFMADD231PS (R9)(BX*1), Y8, Y1
	VFMADD231PS (R10)(BX*1), Y8, Y2
	VFMADD231PS (R11)(BX*1), Y8, Y3

fourdone:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	// Three horizontal adds fold the four keys' eight lanes into
	// [k0 k1 k2 k3] in each 128-bit half; the halves then add.
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMULPS       X15, X0, X0
	VMOVUPS      X0, (DI)
	VMAXPS       X0, X13, X13
	ADDQ         $16, DI
	LEAQ         (SI)(R8*4), SI
	SUBQ         $4, CX
	JMP          four

one:
	TESTQ CX, CX
	JZ    done
	VXORPS Y0, Y0, Y0
	VXORPS Y4, Y4, Y4
	XORQ   BX, BX

onepair:
	CMPQ BX, R13
	JGT  onelast
	VMOVUPS     (DX)(BX*1), Y8
	VMOVUPS     32(DX)(BX*1), Y9
	VFMADD231PS (SI)(BX*1), Y8, Y0
	VFMADD231PS 32(SI)(BX*1), Y9, Y4
	ADDQ        $64, BX
	JMP         onepair

onelast:
	CMPQ BX, R8
	JGE  onedone
	VMOVUPS     (DX)(BX*1), Y8
	VFMADD231PS (SI)(BX*1), Y8, Y0

onedone:
	VADDPS       Y4, Y0, Y0
	HSUM
	VMULSS       X15, X0, X0
	VMOVSS       X0, (DI)
	VBROADCASTSS X0, X0
	VMAXPS       X0, X13, X13
	ADDQ         $4, DI
	ADDQ         R8, SI
	DECQ         CX
	JMP          one

done:
	VMOVHLPS  X13, X1, X1
	VMAXPS    X1, X13, X13
	VMOVSHDUP X13, X1
	VMAXSS    X1, X13, X13
	VMOVSS    X13, ret+48(FP)
	VZEROUPPER
	RET

// EXP4 computes expf's float64 steps for the four doubles in x, leaving
// e^x in x: n = ⌊x·log2e + ½⌋, r = x − n·ln2Hi − n·ln2Lo, the degree-7
// Taylor polynomial of e^r by Horner's rule, times 2^n. Every operation is
// a separate multiply or add, in expf's order, so that the result is
// bit-identical to it. R8 points at the constants; Y14…Y11 hold log2e,
// ½, ln2Hi, ln2Lo; Y7 holds 1023 in each int64 lane; Y3…Y6 are scratch.
#define EXP4(x) \
	VMULPD          Y14, x, Y3   \
	VADDPD          Y13, Y3, Y3  \
	VROUNDPD        $1, Y3, Y3   \
	VMULPD          Y12, Y3, Y4  \
	VSUBPD          Y4, x, Y5    \
	VMULPD          Y11, Y3, Y4  \
	VSUBPD          Y4, Y5, Y5   \
	VBROADCASTSD    32(R8), Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    40(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    48(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    56(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    64(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    72(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    80(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VMULPD          Y5, Y4, Y4   \
	VBROADCASTSD    88(R8), Y6   \
	VADDPD          Y6, Y4, Y4   \
	VCVTTPD2DQY     Y3, X3       \
	VPMOVSXDQ       X3, Y3       \
	VPADDQ          Y7, Y3, Y3   \
	VPSLLQ          $52, Y3, Y3  \
	VMULPD          Y3, Y4, x

// func expSumAVX2(p *float32, n int, m float32, c *expConsts) float32
//
// p[i] = expf(p[i] − m) for n > 0 floats, n a multiple of 8; returns
// their sum. c is expConsts (attnkern_amd64.go): the float64 constants
// at 0 (log2e), 8 (½), 16 (ln2Hi), 24 (ln2Lo), 32…80 (the polynomial's,
// highest degree first), 88 (1); the float32 ones at 96 (−104), 100
// (88.73), 104 (+Inf).
TEXT ·expSumAVX2(SB), NOSPLIT, $0-36
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ c+24(FP), R8
	VBROADCASTSS m+16(FP), Y15
	VBROADCASTSD 0(R8), Y14
	VBROADCASTSD 8(R8), Y13
	VBROADCASTSD 16(R8), Y12
	VBROADCASTSD 24(R8), Y11
	VBROADCASTSS 96(R8), Y10
	VBROADCASTSS 100(R8), Y9
	VXORPS       Y8, Y8, Y8      // the sum
	MOVQ         $1023, AX
	VMOVQ        AX, X7
	VPBROADCASTQ X7, Y7

exploop:
	VMOVUPS      (DI), Y0
	VSUBPS       Y15, Y0, Y0     // x = p − m, in float32 as expf(x − m)
	VCVTPS2PD    X0, Y1
	EXP4(Y1)
	VCVTPD2PSY   Y1, X1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	EXP4(Y2)
	VCVTPD2PSY   Y2, X2
	VINSERTF128  $1, X2, Y1, Y1
	// expf's special cases: 0 below −104, +Inf above 88.73, NaN for NaN.
	VCMPPS       $0x11, Y10, Y0, Y3   // x < −104
	VANDNPS      Y1, Y3, Y1
	VCMPPS       $0x1e, Y9, Y0, Y3    // x > 88.73
	VBROADCASTSS 104(R8), Y4
	VBLENDVPS    Y3, Y4, Y1, Y1
	VCMPPS       $3, Y0, Y0, Y3       // x unordered: NaN
	VBLENDVPS    Y3, Y0, Y1, Y1
	VMOVUPS      Y1, (DI)
	VADDPS       Y1, Y8, Y8
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          exploop

	VMOVAPS Y8, Y0
	HSUM
	VMOVSS  X0, ret+32(FP)
	VZEROUPPER
	RET

// func accPVAVX2(out, p, v *float32, nk, dim int)
//
// out += Σ_j p[j]·v_j over nk > 0 value rows v_j of dim floats (a multiple
// of 8) at v + j·dim. The output is taken 64 floats at a time (8
// accumulators, one FMA chain each), then 8 at a time; each element adds
// its terms in order of j.
TEXT ·accPVAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), DX
	MOVQ v+16(FP), SI
	MOVQ nk+24(FP), R9
	MOVQ dim+32(FP), R8
	SHLQ $2, R8                  // a value row, in bytes
	XORQ BX, BX                  // the chunk's offset in a row
	MOVQ R8, R13
	SUBQ $256, R13               // the last offset where 64 floats fit

wide:
	CMPQ    BX, R13
	JGT     narrow
	VMOVUPS (DI)(BX*1), Y0
	VMOVUPS 32(DI)(BX*1), Y1
	VMOVUPS 64(DI)(BX*1), Y2
	VMOVUPS 96(DI)(BX*1), Y3
	VMOVUPS 128(DI)(BX*1), Y4
	VMOVUPS 160(DI)(BX*1), Y5
	VMOVUPS 192(DI)(BX*1), Y6
	VMOVUPS 224(DI)(BX*1), Y7
	LEAQ    (SI)(BX*1), R10
	MOVQ    DX, R11
	MOVQ    R9, CX

wideloop:
	VBROADCASTSS (R11), Y8
	VFMADD231PS  (R10), Y8, Y0
	VFMADD231PS  32(R10), Y8, Y1
	VFMADD231PS  64(R10), Y8, Y2
	VFMADD231PS  96(R10), Y8, Y3
	VFMADD231PS  128(R10), Y8, Y4
	VFMADD231PS  160(R10), Y8, Y5
	VFMADD231PS  192(R10), Y8, Y6
	VFMADD231PS  224(R10), Y8, Y7
	ADDQ         $4, R11
	ADDQ         R8, R10
	DECQ         CX
	JNZ          wideloop
	VMOVUPS      Y0, (DI)(BX*1)
	VMOVUPS      Y1, 32(DI)(BX*1)
	VMOVUPS      Y2, 64(DI)(BX*1)
	VMOVUPS      Y3, 96(DI)(BX*1)
	VMOVUPS      Y4, 128(DI)(BX*1)
	VMOVUPS      Y5, 160(DI)(BX*1)
	VMOVUPS      Y6, 192(DI)(BX*1)
	VMOVUPS      Y7, 224(DI)(BX*1)
	ADDQ         $256, BX
	JMP          wide

narrow:
	CMPQ    BX, R8
	JGE     pvdone
	VMOVUPS (DI)(BX*1), Y0
	LEAQ    (SI)(BX*1), R10
	MOVQ    DX, R11
	MOVQ    R9, CX

narrowloop:
	VBROADCASTSS (R11), Y8
	VFMADD231PS  (R10), Y8, Y0
	ADDQ         $4, R11
	ADDQ         R8, R10
	DECQ         CX
	JNZ          narrowloop
	VMOVUPS      Y0, (DI)(BX*1)
	ADDQ         $32, BX
	JMP          narrow

pvdone:
	VZEROUPPER
	RET

// func dotsF16AVX2(out, q *float32, k *uint16, nh, dim int, scale float32)
//
// out[h] = (q_h · k)·scale for nh > 0 query rows q_h of dim floats (a
// multiple of 8) at q + h·dim and one F16 key row k, widened eight halves
// at a time. The query holds F16 values, so every product is exact in
// float32; only the order of the sum differs from a plain loop.
TEXT ·dotsF16AVX2(SB), NOSPLIT, $0-44
	MOVQ out+0(FP), DI
	MOVQ q+8(FP), DX
	MOVQ k+16(FP), SI
	MOVQ nh+24(FP), CX
	MOVQ dim+32(FP), R8
	MOVQ R8, R13
	SUBQ $16, R13                // the last index where two groups fit
	VBROADCASTSS scale+40(FP), X15

dothead:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ   AX, AX

dotpair:
	CMPQ        AX, R13
	JGT         dotlast
	VCVTPH2PS   (SI)(AX*2), Y2
	VCVTPH2PS   16(SI)(AX*2), Y3
	VFMADD231PS (DX)(AX*4), Y2, Y0
	VFMADD231PS 32(DX)(AX*4), Y3, Y1
	ADDQ        $16, AX
	JMP         dotpair

dotlast:
	CMPQ        AX, R8
	JGE         dotsum
	VCVTPH2PS   (SI)(AX*2), Y2
	VFMADD231PS (DX)(AX*4), Y2, Y0

dotsum:
	VADDPS Y1, Y0, Y0
	HSUM
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	LEAQ   (DX)(R8*4), DX
	DECQ   CX
	JNZ    dothead
	VZEROUPPER
	RET

// func madF16sAVX2(acc *float32, v *uint16, s *float32, nh, dim int)
//
// For each of nh > 0 heads h: acc_h += v·s[h], rounded to F16 after the
// fused multiply-add, as ggml_vec_mad_f16; acc_h is dim floats (a
// multiple of 8) at acc + h·dim holding F16 values. VCVTPS2PH with
// immediate 0 rounds to nearest even, as the scalar conversion does.
TEXT ·madF16sAVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ nh+24(FP), CX
	MOVQ dim+32(FP), R8

madhead:
	VBROADCASTSS (DX), Y15
	XORQ         AX, AX

madelem:
	VCVTPH2PS   (SI)(AX*2), Y1
	VMOVUPS     (DI)(AX*4), Y0
	VFMADD231PS Y15, Y1, Y0
	VCVTPS2PH   $0, Y0, X0
	VCVTPH2PS   X0, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, R8
	JLT         madelem
	LEAQ        (DI)(R8*4), DI
	ADDQ        $4, DX
	DECQ        CX
	JNZ         madhead
	VZEROUPPER
	RET
