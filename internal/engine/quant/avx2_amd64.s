//go:build !purego

#include "textflag.h"

// Go assembler operand order is the reverse of Intel's: sources first,
// destination last; for VEX forms "OP src2, src1, dst".

// ONES16 sets Y15 to sixteen int16 ones: VPMADDWD with it adds adjacent
// int16 pairs into int32.
#define ONES16 \
	VPCMPEQW Y15, Y15, Y15 \
	VPSRLW   $15, Y15, Y15

// HSUM leaves the sum of Y0's eight floats in X0, using X14.
#define HSUM \
	VEXTRACTF128 $1, Y0, X14 \
	VADDPS       X14, X0, X0 \
	VMOVHLPS     X0, X14, X14 \
	VADDPS       X14, X0, X0 \
	VMOVSHDUP    X0, X14     \
	VADDSS       X14, X0, X0

// STORESUM stores the sum of y's eight floats at off(DI), through Y0.
#define STORESUM(y, off) \
	VMOVAPS y, Y0 \
	HSUM          \
	VMOVSS  X0, off(DI)

// F16X widens the half at mem into the low float of x, through AX.
#define F16X(mem, x) \
	MOVWLZX   mem, AX \
	VMOVD     AX, x   \
	VCVTPH2PS x, x

// IDOT leaves in t the eight partial sums, as floats, of the 32 int8
// products of w (signed weights) and a (signed activations), given
// aw = |w|. Y15 holds int16 ones. This is llama.cpp's sign trick:
// VPMADDUBSW multiplies unsigned by signed bytes, so the sign of w moves
// onto a; |w| ≤ 128 and |a| ≤ 127 keep each int16 pair sum from
// saturating.
#define IDOT(w, aw, a, t) \
	VPSIGNB    w, a, t   \
	VPMADDUBSW t, aw, t  \
	VPMADDWD   Y15, t, t \
	VCVTDQ2PS  t, t

// func dotQ8_0Q8_0AVX2(w *byte, q *int8, d *float32, nb int) float32
//
// Q8_0 weights (34-byte blocks: f16 scale, 32 int8) times a Q8_0
// activation row (quants q, float scales d): per block the integer dot,
// then acc += float(dot) × (dw × da).
TEXT ·dotQ8_0Q8_0AVX2(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	ONES16

	// One accumulator, blocks in order: the same additions as the tile
	// kernel's, so that a matrix gives the same products one activation
	// row at a time as many at once. Two blocks a round, so that the
	// second block's loads and integer work overlap the first's.
	SUBQ $2, CX
	JLT  q8q8one

q8q8two:
	VMOVDQU      2(SI), Y2
	VMOVDQU      (DI), Y4
	VMOVDQU      36(SI), Y7
	VMOVDQU      32(DI), Y9
	VPSIGNB      Y2, Y2, Y3
	VPSIGNB      Y7, Y7, Y8
	IDOT(Y2, Y3, Y4, Y4)
	IDOT(Y7, Y8, Y9, Y9)
	F16X((SI), X5)
	F16X(34(SI), X10)
	VBROADCASTSS X5, Y5
	VBROADCASTSS X10, Y10
	VBROADCASTSS (DX), Y6
	VBROADCASTSS 4(DX), Y11
	VMULPS       Y6, Y5, Y5
	VMULPS       Y11, Y10, Y10
	VFMADD231PS  Y5, Y4, Y0
	VFMADD231PS  Y10, Y9, Y0
	ADDQ $68, SI
	ADDQ $64, DI
	ADDQ $8, DX
	SUBQ $2, CX
	JGE  q8q8two

q8q8one:
	ADDQ $2, CX
	JEQ  q8q8done
	VMOVDQU      2(SI), Y2
	VMOVDQU      (DI), Y4
	VPSIGNB      Y2, Y2, Y3
	IDOT(Y2, Y3, Y4, Y4)
	F16X((SI), X5)
	VBROADCASTSS X5, Y5
	VBROADCASTSS (DX), Y6
	VMULPS       Y6, Y5, Y5
	VFMADD231PS  Y5, Y4, Y0

q8q8done:
	HSUM
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func tileQ8_0Q8_0AVX2(w *byte, rowBytes int, dw *float32, q0, q1 *int8, d0, d1 *float32, nb int, out *[4]float32)
//
// Two Q8_0 weight rows (w and w+rowBytes) times two Q8_0 activation rows:
// out = [w0·a0, w0·a1, w1·a0, w1·a1]. dw holds the two rows' block scales
// already widened to float32 (row 0's nb, then row 1's), so the halves
// are converted once per row rather than once per activation row. Each
// block of weights and of activations is loaded once for two products.
TEXT ·tileQ8_0Q8_0AVX2(SB), NOSPLIT, $0-72
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	ADDQ SI, R8
	MOVQ dw+16(FP), BX
	MOVQ nb+56(FP), CX
	LEAQ (BX)(CX*4), R11
	MOVQ q0+24(FP), DI
	MOVQ q1+32(FP), R9
	MOVQ d0+40(FP), DX
	MOVQ d1+48(FP), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	ONES16

tq8loop:
	VMOVDQU      (DI), Y4
	VMOVDQU      (R9), Y5
	VBROADCASTSS (DX), Y6
	VBROADCASTSS (R10), Y7

	// Row 0.
	VMOVDQU      2(SI), Y8
	VPSIGNB      Y8, Y8, Y9
	VBROADCASTSS (BX), Y10
	IDOT(Y8, Y9, Y4, Y11)
	VMULPS       Y6, Y10, Y12
	VFMADD231PS  Y12, Y11, Y0
	IDOT(Y8, Y9, Y5, Y11)
	VMULPS       Y7, Y10, Y12
	VFMADD231PS  Y12, Y11, Y1

	// Row 1.
	VMOVDQU      2(R8), Y8
	VPSIGNB      Y8, Y8, Y9
	VBROADCASTSS (R11), Y10
	IDOT(Y8, Y9, Y4, Y11)
	VMULPS       Y6, Y10, Y12
	VFMADD231PS  Y12, Y11, Y2
	IDOT(Y8, Y9, Y5, Y11)
	VMULPS       Y7, Y10, Y12
	VFMADD231PS  Y12, Y11, Y3

	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $4, BX
	ADDQ $4, R11
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	DECQ CX
	JNZ  tq8loop

	MOVQ out+64(FP), DI
	HSUM
	VMOVSS X0, (DI)
	STORESUM(Y1, 4)
	STORESUM(Y2, 8)
	STORESUM(Y3, 12)
	VZEROUPPER
	RET

// func tile4x2Q8_0Q8_0AVX2(w *byte, rowBytes int, dw *float32, q0, q1 *int8, d0, d1 *float32, nb int, out *[8]float32)
//
// Four Q8_0 weight rows (rowBytes apart from w) times two Q8_0 activation
// rows: out[2r+c] = w_r·a_c. dw holds the rows' block scales widened to
// float32, interleaved by block (dw[4b+r]). Per block the eight scale
// products are formed with two multiplies and parked on the stack, so
// each product then costs a broadcast load rather than an arithmetic
// instruction; the accumulators get exactly the additions of
// dotQ8_0Q8_0AVX2, so both kernels give the same bits.
TEXT ·tile4x2Q8_0Q8_0AVX2(SB), NOSPLIT, $32-72
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	LEAQ (R8)(R8*2), R13
	MOVQ dw+16(FP), BX
	MOVQ q0+24(FP), DI
	MOVQ q1+32(FP), R9
	MOVQ d0+40(FP), DX
	MOVQ d1+48(FP), R10
	MOVQ nb+56(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	ONES16

t42loop:
	// Scale products: 0(SP) = dw[0:4]·da0, 16(SP) = dw[0:4]·da1.
	VMOVUPS      (BX), X14
	VBROADCASTSS (DX), X10
	VMULPS       X14, X10, X10
	VMOVUPS      X10, 0(SP)
	VBROADCASTSS (R10), X11
	VMULPS       X14, X11, X11
	VMOVUPS      X11, 16(SP)
	VMOVDQU      (DI), Y12
	VMOVDQU      (R9), Y13

	// Row 0.
	VMOVDQU      2(SI), Y8
	VPABSB       Y8, Y9
	IDOT(Y8, Y9, Y12, Y10)
	VBROADCASTSS 0(SP), Y11
	VFMADD231PS  Y11, Y10, Y0
	IDOT(Y8, Y9, Y13, Y10)
	VBROADCASTSS 16(SP), Y11
	VFMADD231PS  Y11, Y10, Y1

	// Row 1.
	VMOVDQU      2(SI)(R8*1), Y8
	VPABSB       Y8, Y9
	IDOT(Y8, Y9, Y12, Y10)
	VBROADCASTSS 4(SP), Y11
	VFMADD231PS  Y11, Y10, Y2
	IDOT(Y8, Y9, Y13, Y10)
	VBROADCASTSS 20(SP), Y11
	VFMADD231PS  Y11, Y10, Y3

	// Row 2.
	VMOVDQU      2(SI)(R8*2), Y8
	VPABSB       Y8, Y9
	IDOT(Y8, Y9, Y12, Y10)
	VBROADCASTSS 8(SP), Y11
	VFMADD231PS  Y11, Y10, Y4
	IDOT(Y8, Y9, Y13, Y10)
	VBROADCASTSS 24(SP), Y11
	VFMADD231PS  Y11, Y10, Y5

	// Row 3.
	VMOVDQU      2(SI)(R13*1), Y8
	VPABSB       Y8, Y9
	IDOT(Y8, Y9, Y12, Y10)
	VBROADCASTSS 12(SP), Y11
	VFMADD231PS  Y11, Y10, Y6
	IDOT(Y8, Y9, Y13, Y10)
	VBROADCASTSS 28(SP), Y11
	VFMADD231PS  Y11, Y10, Y7

	ADDQ $34, SI
	ADDQ $16, BX
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	DECQ CX
	JNZ  t42loop

	MOVQ out+64(FP), DI
	HSUM
	VMOVSS X0, (DI)
	STORESUM(Y1, 4)
	STORESUM(Y2, 8)
	STORESUM(Y3, 12)
	STORESUM(Y4, 16)
	STORESUM(Y5, 20)
	STORESUM(Y6, 24)
	STORESUM(Y7, 28)
	VZEROUPPER
	RET
