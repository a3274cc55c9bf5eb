//go:build !purego

#include "textflag.h"

// AVX2 kernels of the K-quants (Q2_K … Q6_K weights) against Q8_K
// activations, after llama.cpp's ggml_vec_dot_qN_K_q8_K for AVX2.
//
// Go assembler operand order is the reverse of Intel's: sources first,
// destination last; for VEX forms "OP src2, src1, dst".
//
// The weight quants of these types are unsigned (0-3, 0-7, 0-15, 0-31,
// 0-63), so VPMADDUBSW (unsigned × signed bytes, adjacent pairs added
// into int16) takes them as they are, with the activations as the signed
// operand: |pair| ≤ 2·63·128 never saturates. VPMADDWD then multiplies
// the int16 pairs by the sub-block scales, as int16, and adds pairs into
// int32. Offsets that do not depend on the activation quants (Q4_K's and
// Q5_K's mins, Q2_K's mins, Q6_K's -32, Q3_K's -4) are applied through
// the activations' bsums (sums of 16 quants), once per block.
//
// Each block ends with its eight int32 lanes converted to float and
// added, times the block's scale product, into one float accumulator
// (KFIN, KFINMIN); the tile kernels compute each pair's block with the
// same instructions in the same order, so a product is bit-identical
// whether it comes from a dot or from a tile.

// HSUMK leaves the sum of Y0's eight floats in X0, using X14.
#define HSUMK \
	VEXTRACTF128 $1, Y0, X14 \
	VADDPS       X14, X0, X0 \
	VMOVHLPS     X0, X14, X14 \
	VADDPS       X14, X0, X0 \
	VMOVSHDUP    X0, X14     \
	VADDSS       X14, X0, X0

// KMAC adds to sum (eight int32) the products of the 32 unsigned weight
// quants q with the 32 signed activation quants at a, each adjacent pair
// of products scaled by the int16 lane of scale.
#define KMAC(a, q, scale, sum, t) \
	VPMADDUBSW a, q, t     \
	VPMADDWD   scale, t, t \
	VPADDD     t, sum, sum

// KFIN adds a block's integer sums (eight int32 lanes in sumi, which it
// turns into floats) times d·dy to acc: hd is the block's f16 d, dy the
// activation block's float scale. It uses AX and Y10.
#define KFIN(hd, dy, sumi, acc) \
	MOVWLZX      hd, AX         \
	VMOVD        AX, X10        \
	VCVTPH2PS    X10, X10       \
	VMULSS       dy, X10, X10   \
	VBROADCASTSS X10, Y10       \
	VCVTDQ2PS    sumi, sumi     \
	VFMADD231PS  Y10, sumi, acc

// KFINMIN is KFIN for the types with mins: hd holds the f16 pair d, dmin;
// acc += sumi·(d·dy) - mins·(dmin·dy), both int32 vectors turned into
// floats. It uses Y10 and Y11.
#define KFINMIN(hd, dy, sumi, mins, acc) \
	VMOVD        hd, X10          \
	VCVTPH2PS    X10, X10         \
	VBROADCASTSS dy, X11          \
	VMULPS       X11, X10, X10    \
	VBROADCASTSS X10, Y11         \
	VCVTDQ2PS    sumi, sumi       \
	VFMADD231PS  Y11, sumi, acc   \
	VMOVSHDUP    X10, X10         \
	VBROADCASTSS X10, Y10         \
	VCVTDQ2PS    mins, mins       \
	VFNMADD231PS Y10, mins, acc

// K4SCALES unpacks the twelve bytes q[0:12] of Q4_K's and Q5_K's 6-bit
// scales and mins (at 4(w)) into the bytes [sc0-3 m0-3 sc4-7 m4-7] in
// both lanes of dst: sc_j = q[j]&63 and m_j = q[j+4]&63 for j < 4;
// sc_j = q[j+4]&15 | q[j-4]>>6<<4 and m_j = q[j+4]>>4 | q[j]>>6<<4 for
// j ≥ 4. X15 must hold nibble masks; it uses X4-X7.
#define K4SCALES(w, dst) \
	VMOVDQU     4(w), X4           \
	VPAND       c3f<>(SB), X4, X5  \
	VPSRLW      $4, X4, X6         \
	VPAND       X15, X6, X6        \
	VPAND       X15, X4, X7        \
	VPUNPCKHDQ  X6, X7, X7         \
	VPSRLW      $2, X4, X4         \
	VPAND       c30<>(SB), X4, X4  \
	VPOR        X4, X7, X7         \
	VPUNPCKLQDQ X7, X5, X5         \
	VINSERTI128 $1, X5, Y5, dst

// NIBBLES splits the 32 bytes at m into their low nibbles (lo: elements
// 0-31 of a 64-element run) and high nibbles (hi: elements 32-63). Y15
// holds the nibble mask.
#define NIBBLES(m, lo, hi) \
	VMOVDQU m, hi        \
	VPAND   Y15, hi, lo  \
	VPSRLW  $4, hi, hi   \
	VPAND   Y15, hi, hi

// TILEARGS loads the tile kernels' arguments: weight rows SI and R8, and
// per activation row quants DI/R9, scales DX/R10, bsums BX/R11; CX counts
// blocks.
#define TILEARGS \
	MOVQ w+0(FP), SI         \
	MOVQ rowBytes+8(FP), R8  \
	ADDQ SI, R8              \
	MOVQ q0+16(FP), DI       \
	MOVQ q1+24(FP), R9       \
	MOVQ d0+32(FP), DX       \
	MOVQ d1+40(FP), R10      \
	MOVQ bs0+48(FP), BX      \
	MOVQ bs1+56(FP), R11     \
	MOVQ nb+64(FP), CX       \
	VXORPS Y0, Y0, Y0        \
	VXORPS Y1, Y1, Y1        \
	VXORPS Y2, Y2, Y2        \
	VXORPS Y3, Y3, Y3

// TILENEXT advances the tile kernels' pointers by one block of size
// bytes.
#define TILENEXT(size) \
	ADDQ $size, SI \
	ADDQ $size, R8 \
	ADDQ $256, DI  \
	ADDQ $256, R9  \
	ADDQ $4, DX    \
	ADDQ $4, R10   \
	ADDQ $32, BX   \
	ADDQ $32, R11

// TILEOUT stores the four sums of Y0-Y3 to out.
#define TILEOUT \
	MOVQ    out+72(FP), DI \
	HSUMK                  \
	VMOVSS  X0, (DI)       \
	VMOVAPS Y1, Y0         \
	HSUMK                  \
	VMOVSS  X0, 4(DI)      \
	VMOVAPS Y2, Y0         \
	HSUMK                  \
	VMOVSS  X0, 8(DI)      \
	VMOVAPS Y3, Y0         \
	HSUMK                  \
	VMOVSS  X0, 12(DI)

// ---- Q4_K: 144-byte blocks: f16 d, f16 dmin, 12 bytes of scales and
// mins, 128 bytes of nibbles (each 32-byte run: 64 elements, low nibbles
// first).

// Q4DOT adds the 64-element run at wo(SI) times the activations at
// alo(DI) and ahi(DI), with the scales of shufK4 masks ml and mh, to Y1.
#define Q4DOT(wo, ml, mh, alo, ahi) \
	NIBBLES(wo(SI), Y5, Y4)          \
	VPSHUFB shufK4<>+ml(SB), Y14, Y6 \
	KMAC(alo(DI), Y5, Y6, Y1, Y7)    \
	VPSHUFB shufK4<>+mh(SB), Y14, Y8 \
	KMAC(ahi(DI), Y4, Y8, Y1, Y9)

// func dotQ4_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32
//
// Per block: sumi = Σ_j sc_j·(q·a over sub-block j) in eight int32 lanes,
// mins = m_j·(bsum_2j + bsum_2j+1) in eight lanes, then
// acc += sumi·(d·dy) - mins·(dmin·dy).
TEXT ·dotQ4_KQ8_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVDQU nib<>(SB), Y15

q4kloop:
	K4SCALES(SI, Y14)
	VPXOR Y1, Y1, Y1
	Q4DOT(16, 0, 32, 0, 32)
	Q4DOT(48, 64, 96, 64, 96)
	Q4DOT(80, 128, 160, 128, 160)
	Q4DOT(112, 192, 224, 192, 224)
	VPSHUFB  minK4<>(SB), Y14, Y2
	VPMADDWD (BX), Y2, Y2
	KFINMIN((SI), (DX), Y1, Y2, Y0)
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  q4kloop

	HSUMK
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// Q4TILE is Q4DOT for the weight row at w and both activation rows (DI
// into Y12, R9 into Y13): the nibbles and scales are unpacked once.
#define Q4TILE(w, wo, ml, mh, alo, ahi) \
	NIBBLES(wo(w), Y5, Y4)           \
	VPSHUFB shufK4<>+ml(SB), Y14, Y6 \
	VPSHUFB shufK4<>+mh(SB), Y14, Y7 \
	KMAC(alo(DI), Y5, Y6, Y12, Y8)   \
	KMAC(ahi(DI), Y4, Y7, Y12, Y9)   \
	KMAC(alo(R9), Y5, Y6, Y13, Y8)   \
	KMAC(ahi(R9), Y4, Y7, Y13, Y9)

// Q4TROW adds one block of the weight row at w times both activation
// rows to acc0 and acc1, as the dot does.
#define Q4TROW(w, acc0, acc1) \
	K4SCALES(w, Y14)                   \
	VPXOR    Y12, Y12, Y12             \
	VPXOR    Y13, Y13, Y13             \
	Q4TILE(w, 16, 0, 32, 0, 32)        \
	Q4TILE(w, 48, 64, 96, 64, 96)      \
	Q4TILE(w, 80, 128, 160, 128, 160)  \
	Q4TILE(w, 112, 192, 224, 192, 224) \
	VPSHUFB  minK4<>(SB), Y14, Y6      \
	VPMADDWD (BX), Y6, Y8              \
	VPMADDWD (R11), Y6, Y9             \
	KFINMIN((w), (DX), Y12, Y8, acc0)  \
	KFINMIN((w), (R10), Y13, Y9, acc1)

// func tileQ4_KQ8_KAVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, bs0, bs1 *int16, nb int, out *[4]float32)
//
// Two Q4_K weight rows (w and w+rowBytes) times two Q8_K activation rows:
// out = [w0·a0, w0·a1, w1·a0, w1·a1], each computed as the dot computes it.
TEXT ·tileQ4_KQ8_KAVX2(SB), NOSPLIT, $0-80
	TILEARGS
	VMOVDQU nib<>(SB), Y15

tq4kloop:
	Q4TROW(SI, Y0, Y1)
	Q4TROW(R8, Y2, Y3)
	TILENEXT(144)
	DECQ CX
	JNZ  tq4kloop

	TILEOUT
	VZEROUPPER
	RET

// ---- Q5_K: 176-byte blocks: f16 d, f16 dmin, 12 bytes of scales and
// mins as in Q4_K, 32 bytes qh of fifth bits (bits 2j and 2j+1 of qh[l]
// for elements l and l+32 of run j), 128 bytes of nibbles as in Q4_K.

// Q5DOT is Q4DOT with the fifth bits: lop $ln moves bit 2j of each qh
// byte (Y13) to bit 4, hop $hn bit 2j+1; Y12 holds bit-4 masks.
#define Q5DOT(wo, lop, ln, hop, hn, ml, mh, alo, ahi) \
	NIBBLES(wo(SI), Y5, Y4)          \
	lop     $ln, Y13, Y6             \
	VPAND   Y12, Y6, Y6              \
	VPOR    Y6, Y5, Y5               \
	hop     $hn, Y13, Y6             \
	VPAND   Y12, Y6, Y6              \
	VPOR    Y6, Y4, Y4               \
	VPSHUFB shufK4<>+ml(SB), Y14, Y6 \
	KMAC(alo(DI), Y5, Y6, Y1, Y7)    \
	VPSHUFB shufK4<>+mh(SB), Y14, Y8 \
	KMAC(ahi(DI), Y4, Y8, Y1, Y9)

// func dotQ5_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32
//
// As dotQ4_KQ8_KAVX2, with 5-bit quants. The 16-bit shifts that bring a
// qh bit to bit 4 move no other byte's bit into bit 4 (shifts of at most
// 4 left or 3 right).
TEXT ·dotQ5_KQ8_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVDQU nib<>(SB), Y15
	VMOVDQU c10<>(SB), Y12

q5kloop:
	K4SCALES(SI, Y14)
	VMOVDQU 16(SI), Y13
	VPXOR   Y1, Y1, Y1
	Q5DOT(48, VPSLLW, 4, VPSLLW, 3, 0, 32, 0, 32)
	Q5DOT(80, VPSLLW, 2, VPSLLW, 1, 64, 96, 64, 96)
	Q5DOT(112, VPSRLW, 0, VPSRLW, 1, 128, 160, 128, 160)
	Q5DOT(144, VPSRLW, 2, VPSRLW, 3, 192, 224, 192, 224)
	VPSHUFB  minK4<>(SB), Y14, Y2
	VPMADDWD (BX), Y2, Y2
	KFINMIN((SI), (DX), Y1, Y2, Y0)
	ADDQ $176, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  q5kloop

	HSUMK
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// ---- Q6_K: 210-byte blocks: 128 bytes ql of low nibbles, 64 bytes qh
// of 2-bit high parts, 16 int8 scales (one per 16 elements), f16 d. In
// each 128-element half, 32-byte runs ql0 = ql[0:32], ql1 = ql[32:64]
// and qh = qh[0:32] give elements 0-31 (ql0 low, qh bits 0-1), 32-63
// (ql1 low, bits 2-3), 64-95 (ql0 high, bits 4-5) and 96-127 (ql1 high,
// bits 6-7). The quants are q+32 in 0-63; the -32 is applied as
// -32·Σ sc·bsum.

// Q6Q0-Q6Q3 build in Y7 the 6-bit quants of elements 0-31, 32-63, 64-95
// and 96-127 of a half from ql0 (Y4), ql1 (Y5) and qh (Y6), using t; Y15
// holds nibble masks, Y14 bits 4-5 masks. The 16-bit shifts move no
// other byte's bits into bits 4-5.
#define Q6Q0(t) \
	VPAND  Y15, Y4, Y7 \
	VPSLLW $4, Y6, t   \
	VPAND  Y14, t, t   \
	VPOR   t, Y7, Y7

#define Q6Q1(t) \
	VPAND  Y15, Y5, Y7 \
	VPSLLW $2, Y6, t   \
	VPAND  Y14, t, t   \
	VPOR   t, Y7, Y7

#define Q6Q2(t) \
	VPSRLW $4, Y4, Y7  \
	VPAND  Y15, Y7, Y7 \
	VPAND  Y14, Y6, t  \
	VPOR   t, Y7, Y7

#define Q6Q3(t) \
	VPSRLW $4, Y5, Y7  \
	VPAND  Y15, Y7, Y7 \
	VPSRLW $2, Y6, t   \
	VPAND  Y14, t, t   \
	VPOR   t, Y7, Y7

// Q6LOAD loads a half's ql0, ql1 and qh runs from w, and its eight scales
// as int16 in both lanes of sc (through X of the same register).
#define Q6LOAD(w, o0, o1, oh, os, scx, scy) \
	VMOVDQU      o0(w), Y4  \
	VMOVDQU      o1(w), Y5  \
	VMOVDQU      oh(w), Y6  \
	VPBROADCASTQ os(w), scx \
	VPMOVSXBW    scx, scy

// Q6DOTHALF adds one 128-element half (activations at a(DI)) to Y1.
#define Q6DOTHALF(o0, o1, oh, os, a) \
	Q6LOAD(SI, o0, o1, oh, os, X13, Y13)     \
	Q6Q0(Y8)                                 \
	VPSHUFB shuf16<>+0(SB), Y13, Y9          \
	KMAC(a+0(DI), Y7, Y9, Y1, Y8)            \
	Q6Q1(Y8)                                 \
	VPSHUFB shuf16<>+32(SB), Y13, Y9         \
	KMAC(a+32(DI), Y7, Y9, Y1, Y8)           \
	Q6Q2(Y8)                                 \
	VPSHUFB shuf16<>+64(SB), Y13, Y9         \
	KMAC(a+64(DI), Y7, Y9, Y1, Y8)           \
	Q6Q3(Y8)                                 \
	VPSHUFB shuf16<>+96(SB), Y13, Y9         \
	KMAC(a+96(DI), Y7, Y9, Y1, Y8)

// func dotQ6_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32
//
// Per block: sumi = Σ_g sc_g·(q·a over group g) - 32·Σ_g sc_g·bsum_g in
// eight int32 lanes, then acc += sumi·(d·dy).
TEXT ·dotQ6_KQ8_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVDQU nib<>(SB), Y15
	VMOVDQU c30<>(SB), Y14

q6kloop:
	VPMOVSXBW 192(SI), Y13
	VPMADDWD  (BX), Y13, Y2
	VPSLLD    $5, Y2, Y2
	VPXOR     Y1, Y1, Y1
	VPSUBD    Y2, Y1, Y1
	Q6DOTHALF(0, 32, 128, 192, 0)
	Q6DOTHALF(64, 96, 160, 200, 128)
	KFIN(208(SI), (DX), Y1, Y0)
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  q6kloop

	HSUMK
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// Q6TQ applies one run of quants (built by build into Y7, with scale
// mask m over Y11) to both activation rows: a(DI) into Y12, a(R9) into
// Y13.
#define Q6TQ(build, m, a) \
	build(Y9)                       \
	VPSHUFB shuf16<>+m(SB), Y11, Y8 \
	KMAC(a(DI), Y7, Y8, Y12, Y9)    \
	KMAC(a(R9), Y7, Y8, Y13, Y10)

#define Q6TILEHALF(w, o0, o1, oh, os, a) \
	Q6LOAD(w, o0, o1, oh, os, X11, Y11) \
	Q6TQ(Q6Q0, 0, a+0)                  \
	Q6TQ(Q6Q1, 32, a+32)                \
	Q6TQ(Q6Q2, 64, a+64)                \
	Q6TQ(Q6Q3, 96, a+96)

// Q6TROW adds one block of the weight row at w times both activation
// rows to acc0 and acc1, as the dot does.
#define Q6TROW(w, acc0, acc1) \
	VPMOVSXBW 192(w), Y11                    \
	VPMADDWD  (BX), Y11, Y9                  \
	VPSLLD    $5, Y9, Y9                     \
	VPXOR     Y12, Y12, Y12                  \
	VPSUBD    Y9, Y12, Y12                   \
	VPMADDWD  (R11), Y11, Y10                \
	VPSLLD    $5, Y10, Y10                   \
	VPXOR     Y13, Y13, Y13                  \
	VPSUBD    Y10, Y13, Y13                  \
	Q6TILEHALF(w, 0, 32, 128, 192, 0)        \
	Q6TILEHALF(w, 64, 96, 160, 200, 128)     \
	KFIN(208(w), (DX), Y12, acc0)            \
	KFIN(208(w), (R10), Y13, acc1)

// func tileQ6_KQ8_KAVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, bs0, bs1 *int16, nb int, out *[4]float32)
//
// Two Q6_K weight rows times two Q8_K activation rows, as
// tileQ4_KQ8_KAVX2.
TEXT ·tileQ6_KQ8_KAVX2(SB), NOSPLIT, $0-80
	TILEARGS
	VMOVDQU nib<>(SB), Y15
	VMOVDQU c30<>(SB), Y14

tq6kloop:
	Q6TROW(SI, Y0, Y1)
	Q6TROW(R8, Y2, Y3)
	TILENEXT(210)
	DECQ CX
	JNZ  tq6kloop

	TILEOUT
	VZEROUPPER
	RET

// ---- Q2_K: 84-byte blocks: 16 bytes of scales (low nibble the scale,
// high nibble the min of each 16 elements), 64 bytes of 2-bit quants
// (byte l of a half's 32 holds elements l, l+32, l+64, l+96 from the
// lowest bits), f16 d, f16 dmin.

// Q2RUN adds the 2-bit quants at bits sh of Y4 (elements 32k-32k+31 of a
// half) times a(DI) to Y1, with scale mask m over sc; Y14 holds 2-bit
// masks.
#define Q2RUN(sh, m, sc, a) \
	VPSRLW  $sh, Y4, Y5           \
	VPAND   Y14, Y5, Y5           \
	VPSHUFB shuf16<>+m(SB), sc, Y6 \
	KMAC(a(DI), Y5, Y6, Y1, Y7)

// func dotQ2_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32
//
// Per block: sumi = Σ_g sc_g·(q·a over group g), mins = Σ_g m_g·bsum_g,
// both in eight int32 lanes, then acc += sumi·(d·dy) - mins·(dmin·dy).
TEXT ·dotQ2_KQ8_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVDQU nib<>(SB), Y15
	VMOVDQU c03<>(SB), Y14

q2kloop:
	VMOVDQU   (SI), X4
	VPSRLW    $4, X4, X5
	VPAND     X15, X5, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  (BX), Y5, Y2
	VPAND     X15, X4, X4
	VPMOVZXBW X4, Y11
	VPERMQ    $0x44, Y11, Y12
	VPERMQ    $0xEE, Y11, Y11
	VPXOR     Y1, Y1, Y1
	VMOVDQU   16(SI), Y4
	Q2RUN(0, 0, Y12, 0)
	Q2RUN(2, 32, Y12, 32)
	Q2RUN(4, 64, Y12, 64)
	Q2RUN(6, 96, Y12, 96)
	VMOVDQU   48(SI), Y4
	Q2RUN(0, 0, Y11, 128)
	Q2RUN(2, 32, Y11, 160)
	Q2RUN(4, 64, Y11, 192)
	Q2RUN(6, 96, Y11, 224)
	KFINMIN(80(SI), (DX), Y1, Y2, Y0)
	ADDQ $84, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  q2kloop

	HSUMK
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// ---- Q3_K: 110-byte blocks: 32 bytes hmask (bit m of hmask[l] is the
// high bit of element 32m+l), 64 bytes of 2-bit low parts laid out as in
// Q2_K, 12 bytes of sixteen 6-bit scales (stored +32), f16 d. The quants
// are q+4 in 0-7; the -4 is applied as -4·Σ sc·bsum.

// Q3RUN adds elements 32k-32k+31 of a half: low bits at bits lsh of Y4,
// high bit moved to bit 2 of each hmask byte (Y13) by hop $hn (16-bit
// shifts of at most 2 left or 5 right, which move no other byte's bit
// there); Y14 holds 2-bit masks, Y12 bit-2 masks.
#define Q3RUN(lsh, hop, hn, m, sc, a) \
	VPSRLW  $lsh, Y4, Y5           \
	VPAND   Y14, Y5, Y5            \
	hop     $hn, Y13, Y8           \
	VPAND   Y12, Y8, Y8            \
	VPOR    Y8, Y5, Y5             \
	VPSHUFB shuf16<>+m(SB), sc, Y6 \
	KMAC(a(DI), Y5, Y6, Y1, Y7)

// func dotQ3_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32
//
// Per block: sumi = Σ_g sc_g·(q·a over group g) - 4·Σ_g sc_g·bsum_g in
// eight int32 lanes, then acc += sumi·(d·dy). Scale j is the low nibble
// of byte j%8 (high nibble for j ≥ 8) of the packing, with bits 2(j/4)
// of byte 8+j%4 on top.
TEXT ·dotQ3_KQ8_KAVX2(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS  Y0, Y0, Y0
	VMOVDQU nib<>(SB), Y15
	VMOVDQU c03<>(SB), Y14
	VMOVDQU c04<>(SB), Y12

q3kloop:
	VMOVQ        96(SI), X4
	VPSRLW       $4, X4, X5
	VPUNPCKLQDQ  X5, X4, X4
	VPAND        X15, X4, X4
	VPBROADCASTD 104(SI), X5
	VPSRLVD      q3shift<>(SB), X5, X5
	VPAND        X14, X5, X5
	VPSLLW       $4, X5, X5
	VPOR         X5, X4, X4
	VPSUBB       c20<>(SB), X4, X4
	VPMOVSXBW    X4, Y11
	VPMADDWD     (BX), Y11, Y2
	VPSLLD       $2, Y2, Y2
	VPXOR        Y1, Y1, Y1
	VPSUBD       Y2, Y1, Y1
	VPERMQ       $0x44, Y11, Y9
	VPERMQ       $0xEE, Y11, Y11
	VMOVDQU      (SI), Y13
	VMOVDQU      32(SI), Y4
	Q3RUN(0, VPSLLW, 2, 0, Y9, 0)
	Q3RUN(2, VPSLLW, 1, 32, Y9, 32)
	Q3RUN(4, VPSRLW, 0, 64, Y9, 64)
	Q3RUN(6, VPSRLW, 1, 96, Y9, 96)
	VMOVDQU      64(SI), Y4
	Q3RUN(0, VPSRLW, 2, 0, Y11, 128)
	Q3RUN(2, VPSRLW, 3, 32, Y11, 160)
	Q3RUN(4, VPSRLW, 4, 64, Y11, 192)
	Q3RUN(6, VPSRLW, 5, 96, Y11, 224)
	KFIN(108(SI), (DX), Y1, Y0)
	ADDQ $110, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  q3kloop

	HSUMK
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// nib: the low nibble of each byte.
DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $32

// c3f: the low six bits of each byte.
DATA c3f<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA c3f<>+8(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL c3f<>(SB), RODATA|NOPTR, $16

// c30: bits 4-5 of each byte.
DATA c30<>+0(SB)/8, $0x3030303030303030
DATA c30<>+8(SB)/8, $0x3030303030303030
DATA c30<>+16(SB)/8, $0x3030303030303030
DATA c30<>+24(SB)/8, $0x3030303030303030
GLOBL c30<>(SB), RODATA|NOPTR, $32

// c10: bit 4 of each byte.
DATA c10<>+0(SB)/8, $0x1010101010101010
DATA c10<>+8(SB)/8, $0x1010101010101010
DATA c10<>+16(SB)/8, $0x1010101010101010
DATA c10<>+24(SB)/8, $0x1010101010101010
GLOBL c10<>(SB), RODATA|NOPTR, $32

// c03: bits 0-1 of each byte.
DATA c03<>+0(SB)/8, $0x0303030303030303
DATA c03<>+8(SB)/8, $0x0303030303030303
DATA c03<>+16(SB)/8, $0x0303030303030303
DATA c03<>+24(SB)/8, $0x0303030303030303
GLOBL c03<>(SB), RODATA|NOPTR, $32

// c04: bit 2 of each byte.
DATA c04<>+0(SB)/8, $0x0404040404040404
DATA c04<>+8(SB)/8, $0x0404040404040404
DATA c04<>+16(SB)/8, $0x0404040404040404
DATA c04<>+24(SB)/8, $0x0404040404040404
GLOBL c04<>(SB), RODATA|NOPTR, $32

// c20: 32 in each byte, Q3_K's scale offset.
DATA c20<>+0(SB)/8, $0x2020202020202020
DATA c20<>+8(SB)/8, $0x2020202020202020
GLOBL c20<>(SB), RODATA|NOPTR, $16

// q3shift: per-dword right shifts that bring the high scale bits of Q3_K's
// scales 0-3, 4-7, 8-11 and 12-15 down to bits 0-1.
DATA q3shift<>+0(SB)/8, $0x0000000200000000
DATA q3shift<>+8(SB)/8, $0x0000000600000004
GLOBL q3shift<>(SB), RODATA|NOPTR, $16

// shufK4: eight VPSHUFB masks; mask j spreads the j-th 6-bit scale of a
// Q4_K/Q5_K block, from the unpacked bytes [sc0-3 m0-3 sc4-7 m4-7] held in
// both 128-bit lanes, to sixteen int16 lanes (0x80 zeroes the high bytes).
DATA shufK4<>+0(SB)/8, $0x8000800080008000
DATA shufK4<>+8(SB)/8, $0x8000800080008000
DATA shufK4<>+16(SB)/8, $0x8000800080008000
DATA shufK4<>+24(SB)/8, $0x8000800080008000
DATA shufK4<>+32(SB)/8, $0x8001800180018001
DATA shufK4<>+40(SB)/8, $0x8001800180018001
DATA shufK4<>+48(SB)/8, $0x8001800180018001
DATA shufK4<>+56(SB)/8, $0x8001800180018001
DATA shufK4<>+64(SB)/8, $0x8002800280028002
DATA shufK4<>+72(SB)/8, $0x8002800280028002
DATA shufK4<>+80(SB)/8, $0x8002800280028002
DATA shufK4<>+88(SB)/8, $0x8002800280028002
DATA shufK4<>+96(SB)/8, $0x8003800380038003
DATA shufK4<>+104(SB)/8, $0x8003800380038003
DATA shufK4<>+112(SB)/8, $0x8003800380038003
DATA shufK4<>+120(SB)/8, $0x8003800380038003
DATA shufK4<>+128(SB)/8, $0x8008800880088008
DATA shufK4<>+136(SB)/8, $0x8008800880088008
DATA shufK4<>+144(SB)/8, $0x8008800880088008
DATA shufK4<>+152(SB)/8, $0x8008800880088008
DATA shufK4<>+160(SB)/8, $0x8009800980098009
DATA shufK4<>+168(SB)/8, $0x8009800980098009
DATA shufK4<>+176(SB)/8, $0x8009800980098009
DATA shufK4<>+184(SB)/8, $0x8009800980098009
DATA shufK4<>+192(SB)/8, $0x800a800a800a800a
DATA shufK4<>+200(SB)/8, $0x800a800a800a800a
DATA shufK4<>+208(SB)/8, $0x800a800a800a800a
DATA shufK4<>+216(SB)/8, $0x800a800a800a800a
DATA shufK4<>+224(SB)/8, $0x800b800b800b800b
DATA shufK4<>+232(SB)/8, $0x800b800b800b800b
DATA shufK4<>+240(SB)/8, $0x800b800b800b800b
DATA shufK4<>+248(SB)/8, $0x800b800b800b800b
GLOBL shufK4<>(SB), RODATA|NOPTR, $256

// minK4: spreads the eight mins of the same bytes to int16 lanes
// [m0 m0 m1 m1 … m7 m7], each paired with the two bsums of its 32 elements.
DATA minK4<>+0(SB)/8, $0x8005800580048004
DATA minK4<>+8(SB)/8, $0x8007800780068006
DATA minK4<>+16(SB)/8, $0x800d800d800c800c
DATA minK4<>+24(SB)/8, $0x800f800f800e800e
GLOBL minK4<>(SB), RODATA|NOPTR, $32

// shuf16: four VPSHUFB masks over eight int16 scales held in both lanes:
// mask k puts scale 2k in the low lane and 2k+1 in the high lane, the
// scales of the two 16-element groups of a 32-element chunk.
DATA shuf16<>+0(SB)/8, $0x0100010001000100
DATA shuf16<>+8(SB)/8, $0x0100010001000100
DATA shuf16<>+16(SB)/8, $0x0302030203020302
DATA shuf16<>+24(SB)/8, $0x0302030203020302
DATA shuf16<>+32(SB)/8, $0x0504050405040504
DATA shuf16<>+40(SB)/8, $0x0504050405040504
DATA shuf16<>+48(SB)/8, $0x0706070607060706
DATA shuf16<>+56(SB)/8, $0x0706070607060706
DATA shuf16<>+64(SB)/8, $0x0908090809080908
DATA shuf16<>+72(SB)/8, $0x0908090809080908
DATA shuf16<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shuf16<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shuf16<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shuf16<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shuf16<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shuf16<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL shuf16<>(SB), RODATA|NOPTR, $128


// ---- 2×4 micro-kernels: two weight rows times four activation rows.
//
// The activation rows come as a *[4]kAct (quants, scales, bsums: 24
// bytes each) at AX; their quants are DI, R9, R10 and R11, advanced a
// block at a time, and CX counts blocks from 0 (R13 = 32·CX, the offset
// of a block's bsums). Y0-Y7 are the float accumulators,
// Y[4r+c] = weight row r times activation row c, and Y8-Y11 the current
// weight row's integer block sums with the four activation rows. What
// depends only on a weight block (the scale vectors the dot builds with
// VPSHUFB, its f16 scales widened) is made once per block and row, on
// the stack (at BX, 32-byte aligned), and read from there for every
// activation row.

// K4SCALESR is K4SCALES with the scratch registers X8-X11.
#define K4SCALESR(w, dst) \
	VMOVDQU     4(w), X8            \
	VPAND       c3f<>(SB), X8, X9   \
	VPSRLW      $4, X8, X10         \
	VPAND       X15, X10, X10       \
	VPAND       X15, X8, X11        \
	VPUNPCKHDQ  X10, X11, X11       \
	VPSRLW      $2, X8, X8          \
	VPAND       c30<>(SB), X8, X8   \
	VPOR        X8, X11, X11        \
	VPUNPCKLQDQ X11, X9, X9         \
	VINSERTI128 $1, X9, Y9, dst

// Q4PREP stores, at o(BX), the eight scale vectors of the Q4_K block at w
// (shufK4 masks 0-7 over its unpacked scales, 32 bytes each), at
// o+256(BX) its min vector (minK4) and at o+288(BX) its d and dmin as
// floats (and two zeros).
#define Q4PREP(w, o) \
	K4SCALESR(w, Y14)                  \
	VPSHUFB shufK4<>+0(SB), Y14, Y8    \
	VMOVDQU Y8, o+0(BX)                \
	VPSHUFB shufK4<>+32(SB), Y14, Y8   \
	VMOVDQU Y8, o+32(BX)               \
	VPSHUFB shufK4<>+64(SB), Y14, Y8   \
	VMOVDQU Y8, o+64(BX)               \
	VPSHUFB shufK4<>+96(SB), Y14, Y8   \
	VMOVDQU Y8, o+96(BX)               \
	VPSHUFB shufK4<>+128(SB), Y14, Y8  \
	VMOVDQU Y8, o+128(BX)              \
	VPSHUFB shufK4<>+160(SB), Y14, Y8  \
	VMOVDQU Y8, o+160(BX)              \
	VPSHUFB shufK4<>+192(SB), Y14, Y8  \
	VMOVDQU Y8, o+192(BX)              \
	VPSHUFB shufK4<>+224(SB), Y14, Y8  \
	VMOVDQU Y8, o+224(BX)              \
	VPSHUFB minK4<>(SB), Y14, Y8       \
	VMOVDQU Y8, o+256(BX)              \
	VMOVD     (w), X8                  \
	VCVTPH2PS X8, X8                   \
	VMOVUPS   X8, o+288(BX)

// Q4FIRST4 starts the four sums with the first 32 elements of a run:
// low nibbles (Y12) times the activations at a of each row, scaled by
// the vector at s(BX). The dot adds this to a zeroed sum, which gives
// the same integers.
#define Q4FIRST4(a, s) \
	VPMADDUBSW a(DI), Y12, Y14  \
	VPMADDWD   s(BX), Y14, Y8   \
	VPMADDUBSW a(R9), Y12, Y14  \
	VPMADDWD   s(BX), Y14, Y9   \
	VPMADDUBSW a(R10), Y12, Y14 \
	VPMADDWD   s(BX), Y14, Y10  \
	VPMADDUBSW a(R11), Y12, Y14 \
	VPMADDWD   s(BX), Y14, Y11

// Q4MAC4 adds the quants in q times the activations at a of each row,
// scaled by the vector at s(BX), to the four sums.
#define Q4MAC4(q, a, s) \
	KMAC(a(DI), q, s(BX), Y8, Y14)  \
	KMAC(a(R9), q, s(BX), Y9, Y14)  \
	KMAC(a(R10), q, s(BX), Y10, Y14) \
	KMAC(a(R11), q, s(BX), Y11, Y14)

// Q4FIN finishes activation row c's block (sum sumi) into acc, as
// KFINMIN: mins from the row's bsums (pointer at 16+24c(AX)) and the min
// vector at o+256(BX); d·dy and dmin·dy from the floats at o+288(BX) and
// the row's scale (pointer at 8+24c(AX)).
#define Q4FIN(c, o, sumi, acc) \
	MOVQ         16+24*c(AX), DX      \
	VMOVDQU      o+256(BX), Y12       \
	VPMADDWD     (DX)(R13*1), Y12, Y12 \
	MOVQ         8+24*c(AX), DX       \
	VBROADCASTSS (DX)(CX*4), X13      \
	VMULPS       o+288(BX), X13, X13  \
	VBROADCASTSS X13, Y14             \
	VCVTDQ2PS    sumi, sumi           \
	VFMADD231PS  Y14, sumi, acc       \
	VMOVSHDUP    X13, X13             \
	VBROADCASTSS X13, Y14             \
	VCVTDQ2PS    Y12, Y12             \
	VFNMADD231PS Y14, Y12, acc

// Q4ROW4 adds one block of the weight row at w (prepared at o(BX)) times
// the four activation rows to acc0-acc3.
#define Q4ROW4(w, o, acc0, acc1, acc2, acc3) \
	NIBBLES(16(w), Y12, Y13)             \
	Q4FIRST4(0, o+0)                     \
	Q4MAC4(Y13, 32, o+32)                \
	NIBBLES(48(w), Y12, Y13)             \
	Q4MAC4(Y12, 64, o+64)                \
	Q4MAC4(Y13, 96, o+96)                \
	NIBBLES(80(w), Y12, Y13)             \
	Q4MAC4(Y12, 128, o+128)              \
	Q4MAC4(Y13, 160, o+160)              \
	NIBBLES(112(w), Y12, Y13)            \
	Q4MAC4(Y12, 192, o+192)              \
	Q4MAC4(Y13, 224, o+224)              \
	Q4FIN(0, o, Y8, acc0)                \
	Q4FIN(1, o, Y9, acc1)                \
	Q4FIN(2, o, Y10, acc2)               \
	Q4FIN(3, o, Y11, acc3)

// ACTARGS4 loads the 2×4 kernels' arguments and zeroes the accumulators.
#define ACTARGS4 \
	MOVQ w+0(FP), SI        \
	MOVQ rowBytes+8(FP), R8 \
	ADDQ SI, R8             \
	MOVQ a+16(FP), AX       \
	MOVQ 0(AX), DI          \
	MOVQ 24(AX), R9         \
	MOVQ 48(AX), R10        \
	MOVQ 72(AX), R11        \
	MOVQ nb+24(FP), R12     \
	XORQ CX, CX             \
	XORQ R13, R13           \
	VXORPS Y0, Y0, Y0       \
	VXORPS Y1, Y1, Y1       \
	VXORPS Y2, Y2, Y2       \
	VXORPS Y3, Y3, Y3       \
	VXORPS Y4, Y4, Y4       \
	VXORPS Y5, Y5, Y5       \
	VXORPS Y6, Y6, Y6       \
	VXORPS Y7, Y7, Y7

// NEXT4 advances the 2×4 kernels by one block of size bytes and loops
// to l while blocks remain.
#define NEXT4(size, l) \
	ADDQ $size, SI \
	ADDQ $size, R8 \
	ADDQ $256, DI  \
	ADDQ $256, R9  \
	ADDQ $256, R10 \
	ADDQ $256, R11 \
	ADDQ $32, R13  \
	INCQ CX        \
	CMPQ CX, R12   \
	JLT  l

// OUT8 stores the sums of Y0-Y7's floats to out[0:8], through Y0 and
// X14.
#define OUT8 \
	MOVQ    out+32(FP), DI \
	HSUMK                  \
	VMOVSS  X0, (DI)       \
	VMOVAPS Y1, Y0         \
	HSUMK                  \
	VMOVSS  X0, 4(DI)      \
	VMOVAPS Y2, Y0         \
	HSUMK                  \
	VMOVSS  X0, 8(DI)      \
	VMOVAPS Y3, Y0         \
	HSUMK                  \
	VMOVSS  X0, 12(DI)     \
	VMOVAPS Y4, Y0         \
	HSUMK                  \
	VMOVSS  X0, 16(DI)     \
	VMOVAPS Y5, Y0         \
	HSUMK                  \
	VMOVSS  X0, 20(DI)     \
	VMOVAPS Y6, Y0         \
	HSUMK                  \
	VMOVSS  X0, 24(DI)     \
	VMOVAPS Y7, Y0         \
	HSUMK                  \
	VMOVSS  X0, 28(DI)

// func tile2x4Q4_KQ8_KAVX2(w *byte, rowBytes int, a *[4]kAct, nb int, out *[8]float32)
//
// Two Q4_K weight rows (w and w+rowBytes) times four Q8_K activation
// rows: out[4r+c] = w_r·a_c, each computed as the dot computes it. Per
// block each row's scales are unpacked once (at 0(BX) and 320(BX)) and
// its nibbles once per 64 elements, for the four activation rows.
TEXT ·tile2x4Q4_KQ8_KAVX2(SB), NOSPLIT, $672-40
	ACTARGS4
	LEAQ 31(SP), BX
	ANDQ $~31, BX
	VMOVDQU nib<>(SB), Y15

t24q4kloop:
	Q4PREP(SI, 0)
	Q4PREP(R8, 320)
	Q4ROW4(SI, 0, Y0, Y1, Y2, Y3)
	Q4ROW4(R8, 320, Y4, Y5, Y6, Y7)
	NEXT4(144, t24q4kloop)

	OUT8
	VZEROUPPER
	RET
