//go:build !purego

#include "textflag.h"

// AVX2 kernels of the legacy 4- and 5-bit types (Q4_0, Q4_1, Q5_0, Q5_1)
// against Q8_0 and Q8_1 activations.
//
// The weights' quants are unsigned (0..15, or 0..31 with the fifth bit),
// so VPMADDUBSW multiplies them by the signed activations directly; pairs
// sum to at most 2·31·128 = 7936, far from int16 saturation. VPMADDWD
// with ones then leaves eight int32 partial sums per block. For Q4_0 and
// Q5_0 the offset (8 or 16 times the block's activation sum, Vector.isum)
// is subtracted from lane 0 of those, so the eight lanes add up to the
// scalar kernel's exact integer. Each lane is below 2^24 in magnitude, so
// converting it to float is exact.
//
// Every dot keeps one accumulator and adds the blocks in order, and every
// tile repeats the same instructions per product, so a tile's products
// are bit for bit those of the dot.
//
// Go assembler operand order is the reverse of Intel's: sources first,
// destination last; for VEX forms "OP src2, src1, dst".

// lowNibbles: 0x0F in every byte.
DATA lowNibbles<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lowNibbles<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lowNibbles<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lowNibbles<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL lowNibbles<>(SB), RODATA|NOPTR, $32

// qhBytes: VPSHUFB indices sending byte i/8 of a broadcast qh to byte i
// (in each 128-bit lane qh's dword is repeated, so lane 1's indices 2
// and 3 also pick qh's bytes 2 and 3).
DATA qhBytes<>+0(SB)/8, $0x0000000000000000
DATA qhBytes<>+8(SB)/8, $0x0101010101010101
DATA qhBytes<>+16(SB)/8, $0x0202020202020202
DATA qhBytes<>+24(SB)/8, $0x0303030303030303
GLOBL qhBytes<>(SB), RODATA|NOPTR, $32

// qhBits: byte i holds bit i%8, the bit of qh's byte i/8 that belongs to
// element i.
DATA qhBits<>+0(SB)/8, $0x8040201008040201
DATA qhBits<>+8(SB)/8, $0x8040201008040201
DATA qhBits<>+16(SB)/8, $0x8040201008040201
DATA qhBits<>+24(SB)/8, $0x8040201008040201
GLOBL qhBits<>(SB), RODATA|NOPTR, $32

// fifthBit: 0x10 in every byte.
DATA fifthBit<>+0(SB)/8, $0x1010101010101010
DATA fifthBit<>+8(SB)/8, $0x1010101010101010
DATA fifthBit<>+16(SB)/8, $0x1010101010101010
DATA fifthBit<>+24(SB)/8, $0x1010101010101010
GLOBL fifthBit<>(SB), RODATA|NOPTR, $32

// SETUP sets Y15 to sixteen int16 ones (VPMADDWD with it adds adjacent
// int16 pairs into int32) and Y14 to the low-nibble mask.
#define SETUP \
	VPCMPEQW Y15, Y15, Y15 \
	VPSRLW   $15, Y15, Y15 \
	VMOVDQU  lowNibbles<>(SB), Y14

// NIBBLES unpacks the 16 bytes at mem into the 32 quants of a block in y:
// low nibbles (elements 0-15) in the low lane, high nibbles (16-31) in
// the high lane. t is a scratch register (its X form is xt).
#define NIBBLES(mem, x, y, xt) \
	VMOVDQU     mem, x        \
	VPSRLW      $4, x, xt     \
	VINSERTI128 $1, xt, y, y  \
	VPAND       Y14, y, y

// FIFTH adds the fifth bits of the u32 qh at mem to the quants in y
// (0x10 in byte j where bit j of qh is set), using t.
#define FIFTH(mem, y, t) \
	VPBROADCASTD mem, t                 \
	VPSHUFB      qhBytes<>(SB), t, t    \
	VPAND        qhBits<>(SB), t, t     \
	VPCMPEQB     qhBits<>(SB), t, t     \
	VPAND        fifthBit<>(SB), t, t   \
	VPOR         t, y, y

// F16X widens the half at mem into the low float of x, through AX.
#define F16X(mem, x) \
	MOVWLZX   mem, AX \
	VMOVD     AX, x   \
	VCVTPH2PS x, x

// IPROD leaves in t the eight int32 partial sums of the products of the
// unsigned quants in y with the 32 signed activations at mem.
#define IPROD(y, mem, t) \
	VPMADDUBSW mem, y, t \
	VPMADDWD   Y15, t, t

// OFFSET subtracts shift times the int32 at mem (the block's activation
// sum) from lane 0 of t, using the scratch register xo/yo; shift is 3 for
// the offset 8, 4 for 16.
#define OFFSET(mem, shift, t, xo, yo) \
	VMOVD  mem, xo            \
	VPSLLD $shift, xo, xo     \
	VPSUBD yo, t, t

// SCALE adds float(t) × (dw × dy) to acc, dw the weight scale in the low
// float of xw and dy the float at mem; xs/ys is a scratch register.
#define SCALE(t, xw, mem, xs, ys, acc) \
	VCVTDQ2PS    t, t          \
	VMULSS       mem, xw, xs   \
	VBROADCASTSS xs, ys        \
	VFMADD231PS  ys, t, acc

// MINTERM adds m × s to the float in xacc: m the weight block's minimum
// (low float of xm), s the activation block's f16(d·Σq) at mem; xs is
// scratch. Product rounded, then added, as the scalar kernel does.
#define MINTERM(xm, mem, xs, xacc) \
	VMULSS mem, xm, xs \
	VADDSS xs, xacc, xacc

// HSUM leaves the sum of y's eight floats in its low float x, through
// X13: upper half onto lower half, then pairs (hsum_float_8's order).
#define HSUM(y, x) \
	VEXTRACTF128 $1, y, X13 \
	VADDPS       X13, x, x  \
	VMOVHLPS     x, X13, X13 \
	VADDPS       X13, x, x  \
	VMOVSHDUP    x, X13     \
	VADDSS       X13, x, x

// func dotQ4_0Q8_0AVX2(w *byte, q *int8, d *float32, isum *int32, nb int) float32
//
// Q4_0 weights (18-byte blocks: f16 scale, 16 bytes of nibbles) times a
// Q8_0 activation row: per block the integer dot Σ nibble·q − 8·Σq, then
// acc += float(dot) × (dw × da).
TEXT ·dotQ4_0Q8_0AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ isum+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	SETUP

	// Two blocks a round: the second block's unpacking and integer work
	// overlap the first's, while the accumulator still takes the blocks'
	// products one after the other, in order, as the tile kernels do.
	SUBQ $2, CX
	JLT  q40one

q40two:
	NIBBLES(2(SI), X8, Y8, X9)
	NIBBLES(20(SI), X4, Y4, X5)
	IPROD(Y8, (DI), Y10)
	IPROD(Y4, 32(DI), Y6)
	OFFSET((BX), 3, Y10, X11, Y11)
	OFFSET(4(BX), 3, Y6, X7, Y7)
	F16X((SI), X12)
	F16X(18(SI), X2)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	SCALE(Y6, X2, 4(DX), X7, Y7, Y0)
	ADDQ $36, SI
	ADDQ $64, DI
	ADDQ $8, DX
	ADDQ $8, BX
	SUBQ $2, CX
	JGE  q40two

q40one:
	ADDQ $2, CX
	JEQ  q40done
	NIBBLES(2(SI), X8, Y8, X9)
	IPROD(Y8, (DI), Y10)
	OFFSET((BX), 3, Y10, X11, Y11)
	F16X((SI), X12)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)

q40done:
	HSUM(Y0, X0)
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func tileQ4_0Q8_0AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, i0, i1 *int32, nb int, out *[4]float32)
//
// Two Q4_0 weight rows (w and w+rowBytes) times two Q8_0 activation rows:
// out = [w0·a0, w0·a1, w1·a0, w1·a1], each computed as the dot computes
// it. Each weight block is unpacked once for both activation rows.
TEXT ·tileQ4_0Q8_0AVX2(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	ADDQ SI, R8
	MOVQ q0+16(FP), DI
	MOVQ q1+24(FP), R9
	MOVQ d0+32(FP), DX
	MOVQ d1+40(FP), R10
	MOVQ i0+48(FP), BX
	MOVQ i1+56(FP), R11
	MOVQ nb+64(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SETUP

tq40loop:
	// Row 0.
	NIBBLES(2(SI), X8, Y8, X9)
	F16X((SI), X12)
	IPROD(Y8, (DI), Y10)
	OFFSET((BX), 3, Y10, X11, Y11)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	IPROD(Y8, (R9), Y10)
	OFFSET((R11), 3, Y10, X11, Y11)
	SCALE(Y10, X12, (R10), X11, Y11, Y1)

	// Row 1.
	NIBBLES(2(R8), X8, Y8, X9)
	F16X((R8), X12)
	IPROD(Y8, (DI), Y10)
	OFFSET((BX), 3, Y10, X11, Y11)
	SCALE(Y10, X12, (DX), X11, Y11, Y2)
	IPROD(Y8, (R9), Y10)
	OFFSET((R11), 3, Y10, X11, Y11)
	SCALE(Y10, X12, (R10), X11, Y11, Y3)

	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	ADDQ $4, BX
	ADDQ $4, R11
	DECQ CX
	JNZ  tq40loop

	MOVQ out+72(FP), DI
	HSUM(Y0, X0)
	VMOVSS X0, (DI)
	HSUM(Y1, X1)
	VMOVSS X1, 4(DI)
	HSUM(Y2, X2)
	VMOVSS X2, 8(DI)
	HSUM(Y3, X3)
	VMOVSS X3, 12(DI)
	VZEROUPPER
	RET

// func dotQ5_0Q8_0AVX2(w *byte, q *int8, d *float32, isum *int32, nb int) float32
//
// Q5_0 weights (22-byte blocks: f16 scale, u32 qh, 16 bytes of low
// nibbles) times a Q8_0 activation row: per block Σ q5·q − 16·Σq.
TEXT ·dotQ5_0Q8_0AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ isum+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	SETUP

q50loop:
	NIBBLES(6(SI), X8, Y8, X9)
	FIFTH(2(SI), Y8, Y9)
	IPROD(Y8, (DI), Y10)
	OFFSET((BX), 4, Y10, X11, Y11)
	F16X((SI), X12)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	ADDQ $22, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, BX
	DECQ CX
	JNZ  q50loop

	HSUM(Y0, X0)
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func tileQ5_0Q8_0AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, i0, i1 *int32, nb int, out *[4]float32)
//
// The 2×2 micro-kernel of Q5_0, as tileQ4_0Q8_0AVX2.
TEXT ·tileQ5_0Q8_0AVX2(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	ADDQ SI, R8
	MOVQ q0+16(FP), DI
	MOVQ q1+24(FP), R9
	MOVQ d0+32(FP), DX
	MOVQ d1+40(FP), R10
	MOVQ i0+48(FP), BX
	MOVQ i1+56(FP), R11
	MOVQ nb+64(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SETUP

tq50loop:
	// Row 0.
	NIBBLES(6(SI), X8, Y8, X9)
	FIFTH(2(SI), Y8, Y9)
	F16X((SI), X12)
	IPROD(Y8, (DI), Y10)
	OFFSET((BX), 4, Y10, X11, Y11)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	IPROD(Y8, (R9), Y10)
	OFFSET((R11), 4, Y10, X11, Y11)
	SCALE(Y10, X12, (R10), X11, Y11, Y1)

	// Row 1.
	NIBBLES(6(R8), X8, Y8, X9)
	FIFTH(2(R8), Y8, Y9)
	F16X((R8), X12)
	IPROD(Y8, (DI), Y10)
	OFFSET((BX), 4, Y10, X11, Y11)
	SCALE(Y10, X12, (DX), X11, Y11, Y2)
	IPROD(Y8, (R9), Y10)
	OFFSET((R11), 4, Y10, X11, Y11)
	SCALE(Y10, X12, (R10), X11, Y11, Y3)

	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	ADDQ $4, BX
	ADDQ $4, R11
	DECQ CX
	JNZ  tq50loop

	MOVQ out+72(FP), DI
	HSUM(Y0, X0)
	VMOVSS X0, (DI)
	HSUM(Y1, X1)
	VMOVSS X1, 4(DI)
	HSUM(Y2, X2)
	VMOVSS X2, 8(DI)
	HSUM(Y3, X3)
	VMOVSS X3, 12(DI)
	VZEROUPPER
	RET

// func dotQ4_1Q8_1AVX2(w *byte, q *int8, d, s *float32, nb int) float32
//
// Q4_1 weights (20-byte blocks: f16 scale, f16 minimum, 16 bytes of
// nibbles) times a Q8_1 activation row: acc += float(Σ nibble·q) × (dw ×
// da) per block, and separately summs += m × s; the result is the sum of
// acc's lanes plus summs.
TEXT ·dotQ4_1Q8_1AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X4, X4, X4
	SETUP

q41loop:
	NIBBLES(4(SI), X8, Y8, X9)
	IPROD(Y8, (DI), Y10)
	F16X((SI), X12)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	F16X(2(SI), X12)
	MINTERM(X12, (BX), X11, X4)
	ADDQ $20, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, BX
	DECQ CX
	JNZ  q41loop

	HSUM(Y0, X0)
	VADDSS X4, X0, X0
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func tileQ4_1Q8_1AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1, s0, s1 *float32, nb int, out *[4]float32)
//
// Two Q4_1 weight rows times two Q8_1 activation rows, each product as
// dotQ4_1Q8_1AVX2 computes it; X4-X7 hold the four products' summs.
TEXT ·tileQ4_1Q8_1AVX2(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	ADDQ SI, R8
	MOVQ q0+16(FP), DI
	MOVQ q1+24(FP), R9
	MOVQ d0+32(FP), DX
	MOVQ d1+40(FP), R10
	MOVQ s0+48(FP), BX
	MOVQ s1+56(FP), R11
	MOVQ nb+64(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	SETUP

tq41loop:
	// Row 0.
	NIBBLES(4(SI), X8, Y8, X9)
	F16X((SI), X12)
	IPROD(Y8, (DI), Y10)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	IPROD(Y8, (R9), Y10)
	SCALE(Y10, X12, (R10), X11, Y11, Y1)
	F16X(2(SI), X12)
	MINTERM(X12, (BX), X11, X4)
	MINTERM(X12, (R11), X11, X5)

	// Row 1.
	NIBBLES(4(R8), X8, Y8, X9)
	F16X((R8), X12)
	IPROD(Y8, (DI), Y10)
	SCALE(Y10, X12, (DX), X11, Y11, Y2)
	IPROD(Y8, (R9), Y10)
	SCALE(Y10, X12, (R10), X11, Y11, Y3)
	F16X(2(R8), X12)
	MINTERM(X12, (BX), X11, X6)
	MINTERM(X12, (R11), X11, X7)

	ADDQ $20, SI
	ADDQ $20, R8
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	ADDQ $4, BX
	ADDQ $4, R11
	DECQ CX
	JNZ  tq41loop

	MOVQ out+72(FP), DI
	HSUM(Y0, X0)
	VADDSS X4, X0, X0
	VMOVSS X0, (DI)
	HSUM(Y1, X1)
	VADDSS X5, X1, X1
	VMOVSS X1, 4(DI)
	HSUM(Y2, X2)
	VADDSS X6, X2, X2
	VMOVSS X2, 8(DI)
	HSUM(Y3, X3)
	VADDSS X7, X3, X3
	VMOVSS X3, 12(DI)
	VZEROUPPER
	RET

// func dotQ5_1Q8_1AVX2(w *byte, q *int8, d, s *float32, nb int) float32
//
// Q5_1 weights (24-byte blocks: f16 scale, f16 minimum, u32 qh, 16 bytes
// of low nibbles) times a Q8_1 activation row, as dotQ4_1Q8_1AVX2 with
// the fifth bits added to the quants.
TEXT ·dotQ5_1Q8_1AVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ s+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X4, X4, X4
	SETUP

q51loop:
	NIBBLES(8(SI), X8, Y8, X9)
	FIFTH(4(SI), Y8, Y9)
	IPROD(Y8, (DI), Y10)
	F16X((SI), X12)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	F16X(2(SI), X12)
	MINTERM(X12, (BX), X11, X4)
	ADDQ $24, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, BX
	DECQ CX
	JNZ  q51loop

	HSUM(Y0, X0)
	VADDSS X4, X0, X0
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func tileQ5_1Q8_1AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1, s0, s1 *float32, nb int, out *[4]float32)
//
// The 2×2 micro-kernel of Q5_1, as tileQ4_1Q8_1AVX2.
TEXT ·tileQ5_1Q8_1AVX2(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	ADDQ SI, R8
	MOVQ q0+16(FP), DI
	MOVQ q1+24(FP), R9
	MOVQ d0+32(FP), DX
	MOVQ d1+40(FP), R10
	MOVQ s0+48(FP), BX
	MOVQ s1+56(FP), R11
	MOVQ nb+64(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	SETUP

tq51loop:
	// Row 0.
	NIBBLES(8(SI), X8, Y8, X9)
	FIFTH(4(SI), Y8, Y9)
	F16X((SI), X12)
	IPROD(Y8, (DI), Y10)
	SCALE(Y10, X12, (DX), X11, Y11, Y0)
	IPROD(Y8, (R9), Y10)
	SCALE(Y10, X12, (R10), X11, Y11, Y1)
	F16X(2(SI), X12)
	MINTERM(X12, (BX), X11, X4)
	MINTERM(X12, (R11), X11, X5)

	// Row 1.
	NIBBLES(8(R8), X8, Y8, X9)
	FIFTH(4(R8), Y8, Y9)
	F16X((R8), X12)
	IPROD(Y8, (DI), Y10)
	SCALE(Y10, X12, (DX), X11, Y11, Y2)
	IPROD(Y8, (R9), Y10)
	SCALE(Y10, X12, (R10), X11, Y11, Y3)
	F16X(2(R8), X12)
	MINTERM(X12, (BX), X11, X6)
	MINTERM(X12, (R11), X11, X7)

	ADDQ $24, SI
	ADDQ $24, R8
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	ADDQ $4, BX
	ADDQ $4, R11
	DECQ CX
	JNZ  tq51loop

	MOVQ out+72(FP), DI
	HSUM(Y0, X0)
	VADDSS X4, X0, X0
	VMOVSS X0, (DI)
	HSUM(Y1, X1)
	VADDSS X5, X1, X1
	VMOVSS X1, 4(DI)
	HSUM(Y2, X2)
	VADDSS X6, X2, X2
	VMOVSS X2, 8(DI)
	HSUM(Y3, X3)
	VADDSS X7, X3, X3
	VMOVSS X3, 12(DI)
	VZEROUPPER
	RET

// Q40ROW adds the block of a weight row (its 16 bytes of nibbles at
// mem) times both activation rows to acc0 and acc1, with the scale
// products at so(SP) and 16+so(SP): the instructions of the dot's block,
// with the offsets of the activation rows in Y12 and Y13.
#define Q40ROW(mem, so, acc0, acc1) \
	NIBBLES(mem, X8, Y8, X9)    \
	VPMADDUBSW   (DI), Y8, Y10  \
	VPMADDWD     Y15, Y10, Y10  \
	VPSUBD       Y12, Y10, Y10  \
	VCVTDQ2PS    Y10, Y10       \
	VBROADCASTSS so(SP), Y11    \
	VFMADD231PS  Y11, Y10, acc0 \
	VPMADDUBSW   (R9), Y8, Y10  \
	VPMADDWD     Y15, Y10, Y10  \
	VPSUBD       Y13, Y10, Y10  \
	VCVTDQ2PS    Y10, Y10       \
	VBROADCASTSS 16+so(SP), Y11 \
	VFMADD231PS  Y11, Y10, acc1

// func tile4x2Q4_0Q8_0AVX2(w *byte, rowBytes int, dw *float32, q0, q1 *int8, d0, d1 *float32, i0, i1 *int32, nb int, out *[8]float32)
//
// Four Q4_0 weight rows (rowBytes apart from w) times two Q8_0 activation
// rows: out[2r+c] = w_r·a_c. dw holds the rows' block scales widened to
// float32, interleaved by block (dw[4b+r]). Per block the eight scale
// products dw·da are formed with two multiplies and parked on the stack
// (0(SP): row scales times da0, 16(SP): times da1), and each activation
// row's offset 8·Σq, in lane 0 of an otherwise zero vector, is made once
// for the four weight rows. Each product gets exactly the dot's
// instructions on the same values, so both kernels give the same bits.
TEXT ·tile4x2Q4_0Q8_0AVX2(SB), NOSPLIT, $32-88
	MOVQ w+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	LEAQ (R8)(R8*2), R13
	MOVQ dw+16(FP), R12
	MOVQ q0+24(FP), DI
	MOVQ q1+32(FP), R9
	MOVQ d0+40(FP), DX
	MOVQ d1+48(FP), R10
	MOVQ i0+56(FP), BX
	MOVQ i1+64(FP), R11
	MOVQ nb+72(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	SETUP

t4x2q40loop:
	// Scale products of the block.
	VMOVUPS      (R12), X10
	VBROADCASTSS (DX), X11
	VMULPS       X10, X11, X11
	VMOVUPS      X11, 0(SP)
	VBROADCASTSS (R10), X11
	VMULPS       X10, X11, X11
	VMOVUPS      X11, 16(SP)

	// Offsets 8·Σq (the VEX moves and shifts clear the upper lanes).
	VMOVD  (BX), X12
	VPSLLD $3, X12, X12
	VMOVD  (R11), X13
	VPSLLD $3, X13, X13

	Q40ROW(2(SI), 0, Y0, Y1)
	Q40ROW(2(SI)(R8*1), 4, Y2, Y3)
	Q40ROW(2(SI)(R8*2), 8, Y4, Y5)
	Q40ROW(2(SI)(R13*1), 12, Y6, Y7)

	ADDQ $18, SI
	ADDQ $16, R12
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R10
	ADDQ $4, BX
	ADDQ $4, R11
	DECQ CX
	JNZ  t4x2q40loop

	MOVQ out+80(FP), DI
	HSUM(Y0, X0)
	VMOVSS X0, (DI)
	HSUM(Y1, X1)
	VMOVSS X1, 4(DI)
	HSUM(Y2, X2)
	VMOVSS X2, 8(DI)
	HSUM(Y3, X3)
	VMOVSS X3, 12(DI)
	HSUM(Y4, X4)
	VMOVSS X4, 16(DI)
	HSUM(Y5, X5)
	VMOVSS X5, 20(DI)
	HSUM(Y6, X6)
	VMOVSS X6, 24(DI)
	HSUM(Y7, X7)
	VMOVSS X7, 28(DI)
	VZEROUPPER
	RET
