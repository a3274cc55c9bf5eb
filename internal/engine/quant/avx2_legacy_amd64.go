//go:build !purego

package quant

// The AVX2 tier's kernels of the legacy 4- and 5-bit types, in
// avx2_legacy_amd64.s: dot products and 2×2 micro-kernels. Q4_0 and Q5_0
// run against Q8_0 activations and take their offsets from Vector.isum;
// Q4_1 and Q5_1 run against Q8_1 activations and take their minimum's
// term from Vector.s.

var (
	_ = setAccel(avx2Kernels, Q4_0, accel{dot: dotQ4_0AVX2, tile: tileQ4_0AVX2})
	_ = setAccel(avx2Kernels, Q4_1, accel{dot: dotQ4_1AVX2, tile: tileQ4_1AVX2})
	_ = setAccel(avx2Kernels, Q5_0, accel{dot: dotQ5_0AVX2, tile: tileQ5_0AVX2})
	_ = setAccel(avx2Kernels, Q5_1, accel{dot: dotQ5_1AVX2, tile: tileQ5_1AVX2})
)

//go:noescape
func dotQ4_0Q8_0AVX2(w *byte, q *int8, d *float32, isum *int32, nb int) float32

//go:noescape
func tileQ4_0Q8_0AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, i0, i1 *int32, nb int, out *[4]float32)

//go:noescape
func tile4x2Q4_0Q8_0AVX2(w *byte, rowBytes int, dw *float32, q0, q1 *int8, d0, d1 *float32, i0, i1 *int32, nb int, out *[8]float32)

//go:noescape
func dotQ5_0Q8_0AVX2(w *byte, q *int8, d *float32, isum *int32, nb int) float32

//go:noescape
func tileQ5_0Q8_0AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1 *float32, i0, i1 *int32, nb int, out *[4]float32)

//go:noescape
func dotQ4_1Q8_1AVX2(w *byte, q *int8, d, s *float32, nb int) float32

//go:noescape
func tileQ4_1Q8_1AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1, s0, s1 *float32, nb int, out *[4]float32)

//go:noescape
func dotQ5_1Q8_1AVX2(w *byte, q *int8, d, s *float32, nb int) float32

//go:noescape
func tileQ5_1Q8_1AVX2(w *byte, rowBytes int, q0, q1 *int8, d0, d1, s0, s1 *float32, nb int, out *[4]float32)

// checkQ8Act checks, once per call, that v holds nb blocks of Q8_0 or
// Q8_1 quants with their scales and sums (isum for Q8_0, s for Q8_1), so
// that the assembly reads inside them.
func checkQ8Act(v *Vector, nb int, withS bool) {
	_ = v.q[nb*32-1]
	_ = v.d[nb-1]
	if withS {
		_ = v.s[nb-1]
	} else {
		_ = v.isum[nb-1]
	}
}

func dotQ4_0AVX2(w []byte, v *Vector) float32 {
	nb := v.n / 32
	if nb == 0 {
		return 0
	}
	_ = w[nb*18-1]
	checkQ8Act(v, nb, false)
	return dotQ4_0Q8_0AVX2(&w[0], &v.q[0], &v.d[0], &v.isum[0], nb)
}

func dotQ5_0AVX2(w []byte, v *Vector) float32 {
	nb := v.n / 32
	if nb == 0 {
		return 0
	}
	_ = w[nb*22-1]
	checkQ8Act(v, nb, false)
	return dotQ5_0Q8_0AVX2(&w[0], &v.q[0], &v.d[0], &v.isum[0], nb)
}

func dotQ4_1AVX2(w []byte, v *Vector) float32 {
	nb := v.n / 32
	if nb == 0 {
		return 0
	}
	_ = w[nb*20-1]
	checkQ8Act(v, nb, true)
	return dotQ4_1Q8_1AVX2(&w[0], &v.q[0], &v.d[0], &v.s[0], nb)
}

func dotQ5_1AVX2(w []byte, v *Vector) float32 {
	nb := v.n / 32
	if nb == 0 {
		return 0
	}
	_ = w[nb*24-1]
	checkQ8Act(v, nb, true)
	return dotQ5_1Q8_1AVX2(&w[0], &v.q[0], &v.d[0], &v.s[0], nb)
}

// tileQ4_0AVX2 runs the 4×2 micro-kernel over the tile, and the 2×2 one
// or single dot products at its edges.
func tileQ4_0AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	const size = 18
	nb := rowBytes / size
	if nb == 0 || nb > tileScaleBlocks || rows < 4 || len(vs) < 2 {
		tileQ4_0AVX2x2(dst, ldd, w, rowBytes, rows, vs)
		return
	}
	_ = w[rows*rowBytes-1]
	_ = dst[(len(vs)-1)*ldd+rows-1]
	for c := range vs {
		checkQ8Act(&vs[c], nb, false)
	}
	var scales [4 * tileScaleBlocks]float32
	dw := scales[:4*nb]
	r := 0
	for ; r+4 <= rows; r += 4 {
		row := w[r*rowBytes:]
		widenScales4(dw, row, rowBytes, nb, size)
		var out [8]float32
		c := 0
		for ; c+2 <= len(vs); c += 2 {
			a, b := &vs[c], &vs[c+1]
			tile4x2Q4_0Q8_0AVX2(&row[0], rowBytes, &dw[0], &a.q[0], &b.q[0], &a.d[0], &b.d[0], &a.isum[0], &b.isum[0], nb, &out)
			for i := range 4 {
				dst[c*ldd+r+i], dst[(c+1)*ldd+r+i] = out[2*i], out[2*i+1]
			}
		}
		if c < len(vs) {
			tileByDot(dotQ4_0AVX2, dst[c*ldd+r:], ldd, row, rowBytes, 4, vs[c:])
		}
	}
	if r < rows {
		tileQ4_0AVX2x2(dst[r:], ldd, w[r*rowBytes:], rowBytes, rows-r, vs)
	}
}

// widenScales4 writes the f16 block scales (the first two bytes of each
// size-byte block) of the four weight rows rowBytes apart from row[0] to
// dw as float32, interleaved by block: dw[4b+i] is row i's block b.
func widenScales4(dw []float32, row []byte, rowBytes, nb, size int) {
	_ = row[3*rowBytes+(nb-1)*size+1]
	dw = dw[:4*nb]
	for b := range nb {
		for i := range 4 {
			o := i*rowBytes + b*size
			dw[4*b+i] = f16At(row[o], row[o+1])
		}
	}
}

// tileQ4_0AVX2x2 is the 2×2 micro-kernel over a tile, with dot products
// at its odd edges.
func tileQ4_0AVX2x2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 18, dotQ4_0AVX2, func(row []byte, a, b *Vector, nb int) (out [4]float32) {
		checkQ8Act(a, nb, false)
		checkQ8Act(b, nb, false)
		tileQ4_0Q8_0AVX2(&row[0], rowBytes, &a.q[0], &b.q[0], &a.d[0], &b.d[0], &a.isum[0], &b.isum[0], nb, &out)
		return out
	})
}

func tileQ5_0AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 22, dotQ5_0AVX2, func(row []byte, a, b *Vector, nb int) (out [4]float32) {
		checkQ8Act(a, nb, false)
		checkQ8Act(b, nb, false)
		tileQ5_0Q8_0AVX2(&row[0], rowBytes, &a.q[0], &b.q[0], &a.d[0], &b.d[0], &a.isum[0], &b.isum[0], nb, &out)
		return out
	})
}

func tileQ4_1AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 20, dotQ4_1AVX2, func(row []byte, a, b *Vector, nb int) (out [4]float32) {
		checkQ8Act(a, nb, true)
		checkQ8Act(b, nb, true)
		tileQ4_1Q8_1AVX2(&row[0], rowBytes, &a.q[0], &b.q[0], &a.d[0], &b.d[0], &a.s[0], &b.s[0], nb, &out)
		return out
	})
}

func tileQ5_1AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 24, dotQ5_1AVX2, func(row []byte, a, b *Vector, nb int) (out [4]float32) {
		checkQ8Act(a, nb, true)
		checkQ8Act(b, nb, true)
		tileQ5_1Q8_1AVX2(&row[0], rowBytes, &a.q[0], &b.q[0], &a.d[0], &b.d[0], &a.s[0], &b.s[0], nb, &out)
		return out
	})
}

// tile2x2 runs a 2×2 micro-kernel over the tile, and dot at its odd
// edges; a row holds rowBytes/blockBytes blocks. kern gets the first of
// two weight rows (the second follows rowBytes later), two activation
// rows and the block count, and returns [w0·a, w0·b, w1·a, w1·b]
// (by value, so that nothing the kernels write to escapes).
func tile2x2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector, blockBytes int,
	dot func(w []byte, v *Vector) float32, kern func(row []byte, a, b *Vector, nb int) [4]float32) {
	nb := rowBytes / blockBytes
	if nb == 0 || rows == 0 || len(vs) == 0 {
		tileByDot(dot, dst, ldd, w, rowBytes, rows, vs)
		return
	}
	_ = w[rows*rowBytes-1]
	_ = dst[(len(vs)-1)*ldd+rows-1]
	r := 0
	for ; r+2 <= rows; r += 2 {
		row := w[r*rowBytes : (r+2)*rowBytes]
		c := 0
		for ; c+2 <= len(vs); c += 2 {
			out := kern(row, &vs[c], &vs[c+1], nb)
			dst[c*ldd+r], dst[(c+1)*ldd+r] = out[0], out[1]
			dst[c*ldd+r+1], dst[(c+1)*ldd+r+1] = out[2], out[3]
		}
		if c < len(vs) {
			dst[c*ldd+r] = dot(row[:rowBytes], &vs[c])
			dst[c*ldd+r+1] = dot(row[rowBytes:], &vs[c])
		}
	}
	if r < rows {
		tileByDot(dot, dst[r:], ldd, w[r*rowBytes:], rowBytes, 1, vs)
	}
}
