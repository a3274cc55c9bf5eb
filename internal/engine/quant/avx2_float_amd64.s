//go:build !purego

#include "textflag.h"

// AVX2 kernels of the float types (F32, F16, BF16) against float32
// activations.
//
// Each works on a whole number of 8-element chunks and leaves its sums in
// eight float lanes (lane i gets elements ≡ i mod 8, as in the scalar
// kernels); the Go side adds the last n mod 8 elements and sums the lanes.
// Every 32 elements, the four chunks' products are summed in a temporary
// (a multiply, then three FMAs) and that is added to the accumulator: the
// loop-carried chain is then one VADDPS per 32 elements, which keeps the
// FMA units busy with a single accumulator. Chunks past the last multiple
// of 32 are FMAed into the accumulator directly. A single accumulator per
// product is what lets the 2×2 micro-kernels repeat the dot's additions
// exactly: a matrix gives the same products one activation row at a time
// as many at once.
//
// WLOAD(mem, y) widens the eight weights at mem to float32 in y; WSTEP
// is the bytes of eight weights. Both are defined before each type's
// functions.
//
// Go assembler operand order is the reverse of Intel's: sources first,
// destination last; for VEX forms "OP src2, src1, dst".

// DOT32 leaves in t the sum of the products of the four chunks of
// weights at wp and activations at xp (w0·x0, then FMAs of the others).
#define DOT32(wp, xp, t) \
	WLOAD(0(wp), Y8)              \
	VMULPS      0(xp), Y8, t      \
	WLOAD(WSTEP(wp), Y9)          \
	VFMADD231PS 32(xp), Y9, t     \
	WLOAD(2*WSTEP(wp), Y10)       \
	VFMADD231PS 64(xp), Y10, t    \
	WLOAD(3*WSTEP(wp), Y11)       \
	VFMADD231PS 96(xp), Y11, t

// TILE8 is one chunk of the 2×2 micro-kernel: the weights of rows
// SI and R8 and the activations of rows DI and R9 at offsets wo and xo,
// multiplied (op VMULPS) or multiplied and added (op VFMADD231PS) into
// the temporaries Y4-Y7 (w0·a0, w0·a1, w1·a0, w1·a1).
#define TILE8(op, wo, xo) \
	WLOAD(wo(SI), Y8)   \
	WLOAD(wo(R8), Y9)   \
	VMOVUPS xo(DI), Y10 \
	VMOVUPS xo(R9), Y11 \
	op      Y10, Y8, Y4 \
	op      Y11, Y8, Y5 \
	op      Y10, Y9, Y6 \
	op      Y11, Y9, Y7

// The 4×3 micro-kernels keep the twelve products' temporaries in Y0-Y11
// (Y[3r+c] = weight row r times activation row c), the three activation
// chunks in Y12-Y14 and one widened weight chunk in Y15, and their
// accumulators in memory (out): every 32 elements each accumulator gets
// one load, add and store, as the dot's one VADDPS. Weight rows are
// SI, SI+R8, SI+2·R8 and SI+R13 (R13 = 3·R8); activation rows DI, R9 and
// R10.

// ACTS loads the three activation chunks at offset xo.
#define ACTS(xo) \
	VMOVUPS xo(DI), Y12  \
	VMOVUPS xo(R9), Y13  \
	VMOVUPS xo(R10), Y14

// ROW3 widens the weight chunk at mem into Y15 and multiplies it
// (op VMULPS) or multiplies and adds it (op VFMADD231PS) by the three
// activation chunks into t0, t1, t2.
#define ROW3(op, mem, t0, t1, t2) \
	WLOAD(mem, Y15)       \
	op      Y12, Y15, t0  \
	op      Y13, Y15, t1  \
	op      Y14, Y15, t2

// CHUNK43 is one 8-element chunk of the 4×3 micro-kernel: activations at
// offset xo, weights at offset wo of each row.
#define CHUNK43(op, wo, xo) \
	ACTS(xo)                                 \
	ROW3(op, wo(SI), Y0, Y1, Y2)             \
	ROW3(op, wo(SI)(R8*1), Y3, Y4, Y5)       \
	ROW3(op, wo(SI)(R8*2), Y6, Y7, Y8)       \
	ROW3(op, wo(SI)(R13*1), Y9, Y10, Y11)

// ACCADD adds the temporary y to the accumulator at o(AX) (y + acc, the
// dot's acc + t), and stores it back.
#define ACCADD(o, y) \
	VADDPS  o(AX), y, y \
	VMOVUPS y, o(AX)

// ACC12 applies op (ACCADD, or a load or store) to the twelve
// accumulators at AX and Y0-Y11.
#define ACC12(op) \
	op(0, Y0)    \
	op(32, Y1)   \
	op(64, Y2)   \
	op(96, Y3)   \
	op(128, Y4)  \
	op(160, Y5)  \
	op(192, Y6)  \
	op(224, Y7)  \
	op(256, Y8)  \
	op(288, Y9)  \
	op(320, Y10) \
	op(352, Y11)

#define ACCLOAD(o, y) VMOVUPS o(AX), y
#define ACCSTORE(o, y) VMOVUPS y, o(AX)
#define ACCZERO(o, y) VMOVUPS Y0, o(AX)

// TILE43 is the body of the 4×3 micro-kernels, with the labels l32 (the
// 32-element steps), l8 (8-element chunks) and done: the chunks past the
// last multiple of 32 are FMAed into the accumulators, held in Y0-Y11
// for them, as in the dot.
#define TILE43(l32, l8, l8loop, done) \
	MOVQ w+0(FP), SI              \
	MOVQ rowBytes+8(FP), R8       \
	LEAQ (R8)(R8*2), R13          \
	MOVQ x0+16(FP), DI            \
	MOVQ x1+24(FP), R9            \
	MOVQ x2+32(FP), R10           \
	MOVQ n+40(FP), CX             \
	MOVQ out+48(FP), AX           \
	VXORPS Y0, Y0, Y0             \
	ACC12(ACCZERO)                \
l32:                              \
	CMPQ CX, $32                  \
	JLT  l8                       \
	CHUNK43(VMULPS, 0, 0)         \
	CHUNK43(VFMADD231PS, WSTEP, 32)   \
	CHUNK43(VFMADD231PS, 2*WSTEP, 64) \
	CHUNK43(VFMADD231PS, 3*WSTEP, 96) \
	ACC12(ACCADD)                 \
	ADDQ $(4*WSTEP), SI           \
	ADDQ $128, DI                 \
	ADDQ $128, R9                 \
	ADDQ $128, R10                \
	SUBQ $32, CX                  \
	JMP  l32                      \
l8:                               \
	CMPQ CX, $8                   \
	JLT  done                     \
	ACC12(ACCLOAD)                \
l8loop:                           \
	CHUNK43(VFMADD231PS, 0, 0)    \
	ADDQ $WSTEP, SI               \
	ADDQ $32, DI                  \
	ADDQ $32, R9                  \
	ADDQ $32, R10                 \
	SUBQ $8, CX                   \
	CMPQ CX, $8                   \
	JGE  l8loop                   \
	ACC12(ACCSTORE)               \
done:                             \
	VZEROUPPER                    \
	RET

// The weight loads: F32 as is, F16 through F16C, BF16 as the high
// halves of float32s.
#define F32LOAD(mem, y) VMOVUPS mem, y
#define F16LOAD(mem, y) VCVTPH2PS mem, y
#define BF16LOAD(mem, y) \
	VPMOVZXWD mem, y    \
	VPSLLD    $16, y, y

// ---- F32 ----

#define WLOAD F32LOAD
#define WSTEP 32

// func dotF32LanesAVX2(w *byte, x *float32, n int, acc *[8]float32)
TEXT ·dotF32LanesAVX2(SB), NOSPLIT, $0-32
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0

f32loop32:
	CMPQ CX, $32
	JLT  f32loop8
	DOT32(SI, DI, Y4)
	VADDPS Y4, Y0, Y0
	ADDQ   $(4*WSTEP), SI
	ADDQ   $128, DI
	SUBQ   $32, CX
	JMP    f32loop32

f32loop8:
	CMPQ CX, $8
	JLT  f32done
	WLOAD((SI), Y8)
	VFMADD231PS (DI), Y8, Y0
	ADDQ $WSTEP, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f32loop8

f32done:
	MOVQ    acc+24(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func tileF32LanesAVX2(w *byte, rowBytes int, x0, x1 *float32, n int, out *[4][8]float32)
TEXT ·tileF32LanesAVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   rowBytes+8(FP), R8
	ADDQ   SI, R8
	MOVQ   x0+16(FP), DI
	MOVQ   x1+24(FP), R9
	MOVQ   n+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

tf32loop32:
	CMPQ CX, $32
	JLT  tf32loop8
	TILE8(VMULPS, 0, 0)
	TILE8(VFMADD231PS, WSTEP, 32)
	TILE8(VFMADD231PS, 2*WSTEP, 64)
	TILE8(VFMADD231PS, 3*WSTEP, 96)
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	ADDQ   $(4*WSTEP), SI
	ADDQ   $(4*WSTEP), R8
	ADDQ   $128, DI
	ADDQ   $128, R9
	SUBQ   $32, CX
	JMP    tf32loop32

tf32loop8:
	CMPQ CX, $8
	JLT  tf32done
	WLOAD((SI), Y8)
	WLOAD((R8), Y9)
	VMOVUPS     (DI), Y10
	VMOVUPS     (R9), Y11
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y10, Y9, Y2
	VFMADD231PS Y11, Y9, Y3
	ADDQ $WSTEP, SI
	ADDQ $WSTEP, R8
	ADDQ $32, DI
	ADDQ $32, R9
	SUBQ $8, CX
	JMP  tf32loop8

tf32done:
	MOVQ    out+40(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func tile4x3F32LanesAVX2(w *byte, rowBytes int, x0, x1, x2 *float32, n int, out *[12][8]float32)
//
// Four weight rows (rowBytes apart from w) times three activation rows:
// out[3r+c] gets the eight lane sums of w_r·x_c, each by the dot's
// additions.
TEXT ·tile4x3F32LanesAVX2(SB), NOSPLIT, $0-56
	TILE43(t43f32loop32, t43f32loop8, t43f32loop8a, t43f32done)

#undef WLOAD
#undef WSTEP

// ---- F16 ----

#define WLOAD F16LOAD
#define WSTEP 16

// func dotF16LanesAVX2(w *byte, x *float32, n int, acc *[8]float32)
TEXT ·dotF16LanesAVX2(SB), NOSPLIT, $0-32
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0

f16loop32:
	CMPQ CX, $32
	JLT  f16loop8
	DOT32(SI, DI, Y4)
	VADDPS Y4, Y0, Y0
	ADDQ   $(4*WSTEP), SI
	ADDQ   $128, DI
	SUBQ   $32, CX
	JMP    f16loop32

f16loop8:
	CMPQ CX, $8
	JLT  f16done
	WLOAD((SI), Y8)
	VFMADD231PS (DI), Y8, Y0
	ADDQ $WSTEP, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f16loop8

f16done:
	MOVQ    acc+24(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func tileF16LanesAVX2(w *byte, rowBytes int, x0, x1 *float32, n int, out *[4][8]float32)
TEXT ·tileF16LanesAVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   rowBytes+8(FP), R8
	ADDQ   SI, R8
	MOVQ   x0+16(FP), DI
	MOVQ   x1+24(FP), R9
	MOVQ   n+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

tf16loop32:
	CMPQ CX, $32
	JLT  tf16loop8
	TILE8(VMULPS, 0, 0)
	TILE8(VFMADD231PS, WSTEP, 32)
	TILE8(VFMADD231PS, 2*WSTEP, 64)
	TILE8(VFMADD231PS, 3*WSTEP, 96)
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	ADDQ   $(4*WSTEP), SI
	ADDQ   $(4*WSTEP), R8
	ADDQ   $128, DI
	ADDQ   $128, R9
	SUBQ   $32, CX
	JMP    tf16loop32

tf16loop8:
	CMPQ CX, $8
	JLT  tf16done
	WLOAD((SI), Y8)
	WLOAD((R8), Y9)
	VMOVUPS     (DI), Y10
	VMOVUPS     (R9), Y11
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y10, Y9, Y2
	VFMADD231PS Y11, Y9, Y3
	ADDQ $WSTEP, SI
	ADDQ $WSTEP, R8
	ADDQ $32, DI
	ADDQ $32, R9
	SUBQ $8, CX
	JMP  tf16loop8

tf16done:
	MOVQ    out+40(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func tile4x3F16LanesAVX2(w *byte, rowBytes int, x0, x1, x2 *float32, n int, out *[12][8]float32)
//
// Four weight rows (rowBytes apart from w) times three activation rows:
// out[3r+c] gets the eight lane sums of w_r·x_c, each by the dot's
// additions.
TEXT ·tile4x3F16LanesAVX2(SB), NOSPLIT, $0-56
	TILE43(t43f16loop32, t43f16loop8, t43f16loop8a, t43f16done)

#undef WLOAD
#undef WSTEP

// ---- BF16 ----

#define WLOAD BF16LOAD
#define WSTEP 16

// func dotBF16LanesAVX2(w *byte, x *float32, n int, acc *[8]float32)
TEXT ·dotBF16LanesAVX2(SB), NOSPLIT, $0-32
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0

bf16loop32:
	CMPQ CX, $32
	JLT  bf16loop8
	DOT32(SI, DI, Y4)
	VADDPS Y4, Y0, Y0
	ADDQ   $(4*WSTEP), SI
	ADDQ   $128, DI
	SUBQ   $32, CX
	JMP    bf16loop32

bf16loop8:
	CMPQ CX, $8
	JLT  bf16done
	WLOAD((SI), Y8)
	VFMADD231PS (DI), Y8, Y0
	ADDQ $WSTEP, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  bf16loop8

bf16done:
	MOVQ    acc+24(FP), DI
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func tileBF16LanesAVX2(w *byte, rowBytes int, x0, x1 *float32, n int, out *[4][8]float32)
TEXT ·tileBF16LanesAVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   rowBytes+8(FP), R8
	ADDQ   SI, R8
	MOVQ   x0+16(FP), DI
	MOVQ   x1+24(FP), R9
	MOVQ   n+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

tbf16loop32:
	CMPQ CX, $32
	JLT  tbf16loop8
	TILE8(VMULPS, 0, 0)
	TILE8(VFMADD231PS, WSTEP, 32)
	TILE8(VFMADD231PS, 2*WSTEP, 64)
	TILE8(VFMADD231PS, 3*WSTEP, 96)
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	ADDQ   $(4*WSTEP), SI
	ADDQ   $(4*WSTEP), R8
	ADDQ   $128, DI
	ADDQ   $128, R9
	SUBQ   $32, CX
	JMP    tbf16loop32

tbf16loop8:
	CMPQ CX, $8
	JLT  tbf16done
	WLOAD((SI), Y8)
	WLOAD((R8), Y9)
	VMOVUPS     (DI), Y10
	VMOVUPS     (R9), Y11
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y10, Y9, Y2
	VFMADD231PS Y11, Y9, Y3
	ADDQ $WSTEP, SI
	ADDQ $WSTEP, R8
	ADDQ $32, DI
	ADDQ $32, R9
	SUBQ $8, CX
	JMP  tbf16loop8

tbf16done:
	MOVQ    out+40(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func tile4x3BF16LanesAVX2(w *byte, rowBytes int, x0, x1, x2 *float32, n int, out *[12][8]float32)
//
// Four weight rows (rowBytes apart from w) times three activation rows:
// out[3r+c] gets the eight lane sums of w_r·x_c, each by the dot's
// additions.
TEXT ·tile4x3BF16LanesAVX2(SB), NOSPLIT, $0-56
	TILE43(t43bf16loop32, t43bf16loop8, t43bf16loop8a, t43bf16done)

#undef WLOAD
#undef WSTEP
