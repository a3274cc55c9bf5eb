//go:build !purego

package quant

// The AVX2 tier's K-quant kernels (Q2_K, Q3_K, Q4_K, Q5_K and Q6_K weights
// against Q8_K activations), after llama.cpp's AVX2 ggml_vec_dot_*_q8_K.
// Their weight quants are unsigned, so VPMADDUBSW takes them directly,
// and the mins and offsets go through the activations' bsums. Q4_K and
// Q6_K, the bulk of a Q4_K_M model, also have a 2×2 tile kernel, and
// Q4_K a 2×4 one.

var (
	_ = setAccel(avx2Kernels, Q2_K, accel{dot: dotQ2_KAVX2})
	_ = setAccel(avx2Kernels, Q3_K, accel{dot: dotQ3_KAVX2})
	_ = setAccel(avx2Kernels, Q4_K, accel{dot: dotQ4_KAVX2, tile: tileQ4_KAVX2})
	_ = setAccel(avx2Kernels, Q5_K, accel{dot: dotQ5_KAVX2})
	_ = setAccel(avx2Kernels, Q6_K, accel{dot: dotQ6_KAVX2, tile: tileQ6_KAVX2})
)

// The assembly dot kernels take nb ≥ 1 blocks of weights at w and the Q8_K
// activations' quants q (256 a block), scales d (one a block) and bsums
// bs (16 a block).

//go:noescape
func dotQ2_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32

//go:noescape
func dotQ3_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32

//go:noescape
func dotQ4_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32

//go:noescape
func dotQ5_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32

//go:noescape
func dotQ6_KQ8_KAVX2(w *byte, q *int8, d *float32, bs *int16, nb int) float32

// The tile kernels take two weight rows (w and w+rowBytes, nb ≥ 1 blocks
// each) and two activation rows, and write
// out = [w0·a0, w0·a1, w1·a0, w1·a1], each bit-identical to the dot's.

//go:noescape
func tileQ4_KQ8_KAVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, bs0, bs1 *int16, nb int, out *[4]float32)

//go:noescape
func tileQ6_KQ8_KAVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, bs0, bs1 *int16, nb int, out *[4]float32)

// kAct is one Q8_K activation row as the 2×4 tile kernel takes it: its
// quants, block scales and bsums, from a block on.
type kAct struct {
	q  *int8
	d  *float32
	bs *int16
}

// The 2×4 tile kernel takes two weight rows (w and w+rowBytes, nb ≥ 1
// blocks each) and four activation rows, and writes out[4r+c] = w_r·a_c,
// each bit-identical to the dot's.

//go:noescape
func tile2x4Q4_KQ8_KAVX2(w *byte, rowBytes int, a *[4]kAct, nb int, out *[8]float32)

// q8K returns pointers to the first nb blocks of a Q8_K vector, after
// checking that it holds them.
func q8K(v *Vector, nb int) (*int8, *float32, *int16) {
	_, _, _ = v.q[nb*256-1], v.d[nb-1], v.bsums[nb*16-1]
	return &v.q[0], &v.d[0], &v.bsums[0]
}

// The K-quant dot products: the Go side of each checks the lengths once
// and hands the assembly pointers and the block count.
var (
	dotQ2_KAVX2 = kDot(84, dotQ2_KQ8_KAVX2)
	dotQ3_KAVX2 = kDot(110, dotQ3_KQ8_KAVX2)
	dotQ4_KAVX2 = kDot(144, dotQ4_KQ8_KAVX2)
	dotQ5_KAVX2 = kDot(176, dotQ5_KQ8_KAVX2)
	dotQ6_KAVX2 = kDot(210, dotQ6_KQ8_KAVX2)
)

// kDot wraps the assembly dot product of a K-quant type whose 256-element
// blocks take size bytes.
func kDot(size int, kernel func(w *byte, q *int8, d *float32, bsums *int16, nb int) float32) func([]byte, *Vector) float32 {
	return func(w []byte, v *Vector) float32 {
		nb := v.n / 256
		if nb == 0 {
			return 0
		}
		_ = w[nb*size-1]
		q, d, bs := q8K(v, nb)
		return kernel(&w[0], q, d, bs, nb)
	}
}

func tileQ4_KAVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tileKAVX2(Q4_K, dst, ldd, w, rowBytes, rows, vs)
}

func tileQ6_KAVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tileKAVX2(Q6_K, dst, ldd, w, rowBytes, rows, vs)
}

// tileKAVX2 runs typ's micro-kernels (Q4_K: 2×4, then 2×2; Q6_K: 2×2)
// over the tile, and single dot products, which give the same results,
// at its odd edges.
func tileKAVX2(typ Type, dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	dot, size := dotQ4_KAVX2, 144
	if typ == Q6_K {
		dot, size = dotQ6_KAVX2, 210
	}
	nb := rowBytes / size
	if nb == 0 || rows < 2 || len(vs) < 2 {
		tileByDot(dot, dst, ldd, w, rowBytes, rows, vs)
		return
	}
	_ = w[rows*rowBytes-1]
	_ = dst[(len(vs)-1)*ldd+rows-1]
	var out [4]float32
	var out8 [8]float32
	var acts [4]kAct
	r := 0
	for ; r+2 <= rows; r += 2 {
		row := w[r*rowBytes:]
		c := 0
		if typ == Q4_K {
			for ; c+4 <= len(vs); c += 4 {
				for i := range acts {
					acts[i].q, acts[i].d, acts[i].bs = q8K(&vs[c+i], nb)
				}
				tile2x4Q4_KQ8_KAVX2(&row[0], rowBytes, &acts, nb, &out8)
				for i := range 4 {
					dst[(c+i)*ldd+r], dst[(c+i)*ldd+r+1] = out8[i], out8[4+i]
				}
			}
		}
		for ; c+2 <= len(vs); c += 2 {
			q0, d0, bs0 := q8K(&vs[c], nb)
			q1, d1, bs1 := q8K(&vs[c+1], nb)
			if typ == Q6_K {
				tileQ6_KQ8_KAVX2(&row[0], rowBytes, q0, q1, d0, d1, bs0, bs1, nb, &out)
			} else {
				tileQ4_KQ8_KAVX2(&row[0], rowBytes, q0, q1, d0, d1, bs0, bs1, nb, &out)
			}
			dst[c*ldd+r], dst[(c+1)*ldd+r] = out[0], out[1]
			dst[c*ldd+r+1], dst[(c+1)*ldd+r+1] = out[2], out[3]
		}
		if c < len(vs) {
			dst[c*ldd+r] = dot(row[:rowBytes], &vs[c])
			dst[c*ldd+r+1] = dot(row[rowBytes:2*rowBytes], &vs[c])
		}
	}
	if r < rows {
		tileByDot(dot, dst[r:], ldd, w[r*rowBytes:], rowBytes, 1, vs)
	}
}
