//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The AVX2 tier: AVX2, FMA and F16C, which every x86-64 CPU since 2013
// (Haswell, and AMD's from Excavator and Zen) has. Its kernels follow
// llama.cpp's AVX2 ones: VPMADDUBSW then VPMADDWD for the integer
// products (with the sign trick, |w| × sign(w)·a, for signed weights such
// as Q8_0's; the K-quants' unsigned weights go in as they are, see
// avx2_kquant_amd64.go), FMA for the block scales.
var _ = addTier(&tier{
	name:   "avx2",
	usable: func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C },
	accel:  avx2Kernels,
	act:    avx2Act,
})

// avx2Kernels is filled by the files of the tier's kernels, one
// setAccel per type.
var avx2Kernels = map[Type]accel{}

var _ = setAccel(avx2Kernels, Q8_0, accel{dot: dotQ8_0AVX2, tile: tileQ8_0AVX2})

//go:noescape
func dotQ8_0Q8_0AVX2(w *byte, q *int8, d *float32, nb int) float32

//go:noescape
func tileQ8_0Q8_0AVX2(w *byte, rowBytes int, dw *float32, q0, q1 *int8, d0, d1 *float32, nb int, out *[4]float32)

//go:noescape
func tile4x2Q8_0Q8_0AVX2(w *byte, rowBytes int, dw *float32, q0, q1 *int8, d0, d1 *float32, nb int, out *[8]float32)

func dotQ8_0AVX2(w []byte, v *Vector) float32 {
	nb := v.n / 32
	if nb == 0 {
		return 0
	}
	_ = w[nb*34-1]
	return dotQ8_0Q8_0AVX2(&w[0], &v.q[0], &v.d[0], nb)
}

// tileScaleBlocks bounds the row length the micro-kernels' scale buffers
// hold on the stack (64Ki elements of Q8_0); longer rows take the dot
// products.
const tileScaleBlocks = 2048

// tileQ8_0AVX2 runs the 4×2 micro-kernel over the tile, and the 2×2 one
// or single dot products at its edges.
func tileQ8_0AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	nb := rowBytes / 34
	if nb == 0 || nb > tileScaleBlocks || rows == 0 || len(vs) == 0 {
		tileByDot(dotQ8_0AVX2, dst, ldd, w, rowBytes, rows, vs)
		return
	}
	_ = w[rows*rowBytes-1]
	_ = dst[(len(vs)-1)*ldd+rows-1]
	var scales [4 * tileScaleBlocks]float32
	dw := scales[:4*nb]
	r := 0
	for ; r+4 <= rows; r += 4 {
		row := w[r*rowBytes:]
		for b := range nb {
			for i := range 4 {
				o := i*rowBytes + b*34
				dw[4*b+i] = f16At(row[o], row[o+1])
			}
		}
		var out [8]float32
		c := 0
		for ; c+2 <= len(vs); c += 2 {
			a, b := &vs[c], &vs[c+1]
			tile4x2Q8_0Q8_0AVX2(&row[0], rowBytes, &dw[0], &a.q[0], &b.q[0], &a.d[0], &b.d[0], nb, &out)
			for i := range 4 {
				dst[c*ldd+r+i], dst[(c+1)*ldd+r+i] = out[2*i], out[2*i+1]
			}
		}
		if c < len(vs) {
			tileByDot(dotQ8_0AVX2, dst[c*ldd+r:], ldd, row, rowBytes, 4, vs[c:])
		}
	}
	if r+2 <= rows {
		row := w[r*rowBytes:]
		for b := range nb {
			dw[b] = f16At(row[b*34], row[b*34+1])
			dw[nb+b] = f16At(row[rowBytes+b*34], row[rowBytes+b*34+1])
		}
		var out [4]float32
		c := 0
		for ; c+2 <= len(vs); c += 2 {
			a, b := &vs[c], &vs[c+1]
			tileQ8_0Q8_0AVX2(&row[0], rowBytes, &dw[0], &a.q[0], &b.q[0], &a.d[0], &b.d[0], nb, &out)
			dst[c*ldd+r], dst[(c+1)*ldd+r] = out[0], out[1]
			dst[c*ldd+r+1], dst[(c+1)*ldd+r+1] = out[2], out[3]
		}
		if c < len(vs) {
			tileByDot(dotQ8_0AVX2, dst[c*ldd+r:], ldd, row, rowBytes, 2, vs[c:])
		}
		r += 2
	}
	if r < rows {
		tileByDot(dotQ8_0AVX2, dst[r:], ldd, w[r*rowBytes:], rowBytes, 1, vs)
	}
}
