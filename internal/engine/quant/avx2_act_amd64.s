//go:build !purego

#include "textflag.h"

// AVX2 activation converters (Vector.Quantize): Q8_0 and Q8_1 as ggml's
// AVX2 quantize_row_q8_0/q8_1, Q8_K as quantize_row_q8_K_ref, and the
// rounding of F16 activations. Each gives exactly the bytes of the scalar
// converters in vector.go; avx2_act_amd64.go says why, case by case.
//
// Go assembler operand order is the reverse of Intel's: sources first,
// destination last; for VEX forms "OP src2, src1, dst". VMAXPS src2,
// src1, dst sets dst = src1 > src2 ? src1 : src2, so a NaN in src1 leaves
// src2: the maxima below take |x| as src1 and the running maximum as
// src2, which skips NaNs as the scalar "if a > amax" does.

// q8Perm: VPERMD indices that put the dwords of VPACKSSDW+VPACKSSWB's
// output (x0-3, x8-11, x16-19, x24-27 | x4-7, x12-15, x20-23, x28-31;
// the packs work on 128-bit lanes) back in element order.
DATA q8Perm<>+0(SB)/4, $0
DATA q8Perm<>+4(SB)/4, $4
DATA q8Perm<>+8(SB)/4, $1
DATA q8Perm<>+12(SB)/4, $5
DATA q8Perm<>+16(SB)/4, $2
DATA q8Perm<>+20(SB)/4, $6
DATA q8Perm<>+24(SB)/4, $3
DATA q8Perm<>+28(SB)/4, $7
GLOBL q8Perm<>(SB), RODATA|NOPTR, $32

// Scalars, broadcast where a vector needs them.
DATA f127<>+0(SB)/4, $0x42fe0000 // 127.0
GLOBL f127<>(SB), RODATA|NOPTR, $4
DATA fm127<>+0(SB)/4, $0xc2fe0000 // -127.0
GLOBL fm127<>(SB), RODATA|NOPTR, $4
DATA f1<>+0(SB)/4, $0x3f800000 // 1.0
GLOBL f1<>(SB), RODATA|NOPTR, $4
DATA magic<>+0(SB)/4, $0x4b400000 // 12582912.0 = 1.5·2^23, nearestInt's
GLOBL magic<>(SB), RODATA|NOPTR, $4
DATA mant<>+0(SB)/4, $0x007fffff
GLOBL mant<>(SB), RODATA|NOPTR, $4
DATA half22<>+0(SB)/4, $0x00400000
GLOBL half22<>(SB), RODATA|NOPTR, $4
DATA i127<>+0(SB)/4, $127
GLOBL i127<>(SB), RODATA|NOPTR, $4

// words1: sixteen int16 ones (VPMADDWD with it adds adjacent pairs).
DATA words1<>+0(SB)/8, $0x0001000100010001
DATA words1<>+8(SB)/8, $0x0001000100010001
DATA words1<>+16(SB)/8, $0x0001000100010001
DATA words1<>+24(SB)/8, $0x0001000100010001
GLOBL words1<>(SB), RODATA|NOPTR, $32

// HMAX leaves the largest of y's eight floats (none a NaN) in every
// float of x, using the scratch register xt.
#define HMAX(y, x, xt) \
	VEXTRACTF128 $1, y, xt     \
	VMAXPS       xt, x, x      \
	VPERMILPS    $0x4e, x, xt  \
	VMAXPS       xt, x, x      \
	VPERMILPS    $0xb1, x, xt  \
	VMAXPS       xt, x, x

// func quantizeQ8AVX2(x *float32, q *int8, d *float32, isum *int32, s *float32, nb int)
//
// Per block of 32: amax = max|x|; d = f16(amax/127); id = 127/amax (0
// when amax is 0); quants VCVTPS2DQ(VROUNDPS(x·id)) (round half to even),
// packed to int8 with signed saturation; isum = the int32 sum of the
// quants before packing; for Q8_1 (s not nil) s = f16(amax/127 · isum).
TEXT ·quantizeQ8AVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ isum+24(FP), BX
	MOVQ s+32(FP), R8
	MOVQ nb+40(FP), CX
	VPCMPEQD Y15, Y15, Y15
	VPSRLD   $1, Y15, Y15       // Y15: 0x7fffffff, the absolute-value mask
	VMOVDQU  q8Perm<>(SB), Y14
	VMOVSS   f127<>(SB), X13    // X13: 127.0
	VXORPS   Y12, Y12, Y12      // Y12: zero

q8block:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3

	// amax into X4 (two chains from zero, then their maximum).
	VANDPS Y15, Y0, Y4
	VMAXPS Y12, Y4, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y4, Y5, Y4
	VANDPS Y15, Y2, Y5
	VMAXPS Y12, Y5, Y5
	VANDPS Y15, Y3, Y6
	VMAXPS Y5, Y6, Y5
	VMAXPS Y5, Y4, Y4
	HMAX(Y4, X4, X5)

	// X6 = amax/127 (Q8_1's s needs it unrounded); d = its f16 value.
	VDIVSS    X13, X4, X6
	VCVTPS2PH $0, X6, X7        // imm 0: round to nearest even
	VCVTPH2PS X7, X7
	VMOVSS    X7, (DX)

	// Y7 = id = 127/amax, masked to 0 where amax == 0.
	VDIVSS       X4, X13, X7
	VCMPSS       $4, X12, X4, X8 // X8 = amax != 0 ? all ones : 0
	VANDPS       X8, X7, X7
	VBROADCASTSS X7, Y7

	// Quants as int32: x·id rounded half to even (VROUNDPS imm 0), then
	// converted (exactly; an Inf or NaN product gives -2^31).
	VMULPS    Y7, Y0, Y0
	VMULPS    Y7, Y1, Y1
	VMULPS    Y7, Y2, Y2
	VMULPS    Y7, Y3, Y3
	VROUNDPS  $0, Y0, Y0
	VROUNDPS  $0, Y1, Y1
	VROUNDPS  $0, Y2, Y2
	VROUNDPS  $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3

	// isum: the 32 int32 quants added (wrapping, like the scalar int32).
	VPADDD       Y1, Y0, Y8
	VPADDD       Y3, Y2, Y9
	VPADDD       Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD       X9, X8, X8
	VPSHUFD      $0x4e, X8, X9
	VPADDD       X9, X8, X8
	VPSHUFD      $0xb1, X8, X9
	VPADDD       X9, X8, X8
	VMOVD        X8, (BX)

	// int32 → int16 → int8 with signed saturation, then the dwords back
	// in order.
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y14, Y0
	VMOVDQU   Y0, (DI)

	TESTQ R8, R8
	JZ    q8next
	// Q8_1: s = f16(amax/127 · float32(isum)).
	VCVTDQ2PS X8, X8
	VMULSS    X8, X6, X8
	VCVTPS2PH $0, X8, X8
	VCVTPH2PS X8, X8
	VMOVSS    X8, (R8)
	ADDQ      $4, R8

q8next:
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, BX
	DECQ CX
	JNZ  q8block
	VZEROUPPER
	RET

// QK1 quantises the eight floats at mem into eight int32 in y, Y8
// holding iscale: nearestInt(iscale·x) by the scalar code's float trick (add 1.5·2^23, keep the low 23 bits, less
// 2^22: round half to even for |iscale·x| < 2^22, and the same bits as
// the scalar code for any other value, Inf and NaN included), at most
// 127, truncated to its low byte (the scalar int8 conversion): the AND
// with 0xff makes the unsigned packs below exact.
#define QK1(mem, y) \
	VMULPS  mem, Y8, y  \
	VADDPS  Y14, y, y   \
	VPAND   Y13, y, y   \
	VPSUBD  Y12, y, y   \
	VPMINSD Y11, y, y   \
	VPAND   Y10, y, y

// QK4 quantises the 32 floats at off(SI) (off in bytes) into the 32
// bytes at off/4(DI).
#define QK4(off) \
	QK1(off(SI), Y0)      \
	QK1(off+32(SI), Y1)   \
	QK1(off+64(SI), Y2)   \
	QK1(off+96(SI), Y3)   \
	VPACKUSDW Y1, Y0, Y0  \
	VPACKUSDW Y3, Y2, Y2  \
	VPACKUSWB Y2, Y0, Y0  \
	VPERMD    Y0, Y9, Y0  \
	VMOVDQU   Y0, off/4(DI)

// BSUM8 leaves in y the sums of four of the 32 int8 quants at mem: the
// low lane holds the first 16's four sums of four, the high lane the
// next 16's. Y8 holds bytes of 1 (the unsigned operand of VPMADDUBSW).
#define BSUM8(mem, y) \
	VPMADDUBSW mem, Y8, y \
	VPMADDWD   words1<>(SB), y, y

// func quantizeQ8KAVX2(x *float32, q *int8, d *float32, bsums *int16, nb int)
//
// Per block of 256: amax = max|x|; max = the first element with |x| ==
// amax (its sign kept); iscale = -127/max; quants as QK4 describes;
// d = 1/iscale; bsums = sums of each 16 quants. A block with amax 0 gets
// zeros throughout.
TEXT ·quantizeQ8KAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bsums+24(FP), BX
	MOVQ nb+32(FP), CX
	VPCMPEQD     Y15, Y15, Y15
	VPSRLD       $1, Y15, Y15        // Y15: absolute-value mask
	VBROADCASTSS magic<>(SB), Y14
	VPBROADCASTD mant<>(SB), Y13
	VPBROADCASTD half22<>(SB), Y12
	VPBROADCASTD i127<>(SB), Y11
	VPCMPEQD     Y10, Y10, Y10
	VPSRLD       $24, Y10, Y10       // Y10: 0xff in each dword
	VMOVDQU      q8Perm<>(SB), Y9

qkblock:
	// amax over the 256 floats: four chains from zero, one per chunk of
	// each 32.
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX

qkmax:
	VANDPS (SI)(AX*1), Y15, Y4
	VMAXPS Y0, Y4, Y0
	VANDPS 32(SI)(AX*1), Y15, Y5
	VMAXPS Y1, Y5, Y1
	VANDPS 64(SI)(AX*1), Y15, Y6
	VMAXPS Y2, Y6, Y2
	VANDPS 96(SI)(AX*1), Y15, Y7
	VMAXPS Y3, Y7, Y3
	ADDQ   $128, AX
	CMPQ   AX, $1024
	JB     qkmax
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	HMAX(Y0, X0, X1)
	VXORPS X1, X1, X1
	VUCOMISS X1, X0
	JEQ      qkzero              // amax == 0 (never NaN)
	VBROADCASTSS X0, Y0

	// The first element whose magnitude is amax: the scalar loop's
	// strict ">" keeps the first of equal magnitudes, and its sign
	// decides the quants' signs.
	XORQ AX, AX

qkfind:
	VANDPS    (SI)(AX*4), Y15, Y1
	VCMPPS    $0, Y0, Y1, Y1     // |x| == amax
	VMOVMSKPS Y1, R9
	TESTL     R9, R9
	JNZ       qkfound
	ADDQ      $8, AX
	CMPQ      AX, $256
	JB        qkfind
	JMP       qkzero             // not reached: amax is some |x|

qkfound:
	BSFL   R9, R9
	ADDQ   R9, AX
	VMOVSS (SI)(AX*4), X1        // max
	VMOVSS fm127<>(SB), X2
	VDIVSS X1, X2, X2            // iscale = -127/max
	VMOVSS f1<>(SB), X3
	VDIVSS X2, X3, X3            // d = 1/iscale
	VMOVSS X3, (DX)
	VBROADCASTSS X2, Y8

	QK4(0)
	QK4(128)
	QK4(256)
	QK4(384)
	QK4(512)
	QK4(640)
	QK4(768)
	QK4(896)

	// bsums: sums of four per 16, then VPHADDD twice leaves the low
	// lanes with the sums of 16 number 0, 2, …, 6 (Y0) and 8, …, 14 (Y4)
	// and the high lanes with the odd ones; packed to int16 (exact: at
	// most 16·128 in magnitude) and interleaved back in order.
	VPCMPEQB     Y8, Y8, Y8
	VPABSB       Y8, Y8          // Y8: bytes of 1
	BSUM8(0(DI), Y0)
	BSUM8(32(DI), Y1)
	BSUM8(64(DI), Y2)
	BSUM8(96(DI), Y3)
	BSUM8(128(DI), Y4)
	BSUM8(160(DI), Y5)
	BSUM8(192(DI), Y6)
	BSUM8(224(DI), Y7)
	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y5, Y4, Y4
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y2, Y0, Y0
	VPHADDD      Y6, Y4, Y4
	VPACKSSDW    Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPUNPCKLWD   X1, X0, X2
	VPUNPCKHWD   X1, X0, X3
	VMOVDQU      X2, (BX)
	VMOVDQU      X3, 16(BX)
	JMP          qknext

qkzero:
	VXORPS  Y0, Y0, Y0
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 64(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y0, 160(DI)
	VMOVDQU Y0, 192(DI)
	VMOVDQU Y0, 224(DI)
	VMOVDQU Y0, (BX)
	MOVL    $0, (DX)

qknext:
	ADDQ $1024, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  qkblock
	VZEROUPPER
	RET

// func roundF16AVX2(dst, x *float32, n int)
//
// dst[i] = x[i] rounded to half precision (VCVTPS2PH imm 0: to nearest
// even) and widened back, for n a multiple of 8: 32 at a time, then 8.
TEXT ·roundF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JB   f16tail

f16loop32:
	VMOVUPS   0(SI), Y0
	VMOVUPS   32(SI), Y1
	VMOVUPS   64(SI), Y2
	VMOVUPS   96(SI), Y3
	VCVTPS2PH $0, Y0, X0
	VCVTPS2PH $0, Y1, X1
	VCVTPS2PH $0, Y2, X2
	VCVTPS2PH $0, Y3, X3
	VCVTPH2PS X0, Y0
	VCVTPH2PS X1, Y1
	VCVTPH2PS X2, Y2
	VCVTPH2PS X3, Y3
	VMOVUPS   Y0, 0(DI)
	VMOVUPS   Y1, 32(DI)
	VMOVUPS   Y2, 64(DI)
	VMOVUPS   Y3, 96(DI)
	ADDQ      $128, SI
	ADDQ      $128, DI
	SUBQ      $32, CX
	CMPQ      CX, $32
	JAE       f16loop32

f16tail:
	TESTQ CX, CX
	JZ    f16done

f16loop8:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       f16loop8

f16done:
	VZEROUPPER
	RET
