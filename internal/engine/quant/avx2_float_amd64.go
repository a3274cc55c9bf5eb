//go:build !purego

package quant

import (
	"encoding/binary"
	"math"
)

// The AVX2 tier's kernels of the float types, in avx2_float_amd64.s: the
// assembly covers whole 8-element chunks and leaves eight lane sums; the
// last len mod 8 elements are added here into lanes i mod 8, as in the
// scalar kernels, and the lanes summed in hsum_float_8's order. A row
// may have any length.

var (
	_ = setAccel(avx2Kernels, F32, accel{dot: dotF32AVX2, tile: tileF32AVX2})
	_ = setAccel(avx2Kernels, F16, accel{dot: dotF16AVX2, tile: tileF16AVX2})
	_ = setAccel(avx2Kernels, BF16, accel{dot: dotBF16AVX2, tile: tileBF16AVX2})
)

//go:noescape
func dotF32LanesAVX2(w *byte, x *float32, n int, acc *[8]float32)

//go:noescape
func tileF32LanesAVX2(w *byte, rowBytes int, x0, x1 *float32, n int, out *[4][8]float32)

//go:noescape
func dotF16LanesAVX2(w *byte, x *float32, n int, acc *[8]float32)

//go:noescape
func tileF16LanesAVX2(w *byte, rowBytes int, x0, x1 *float32, n int, out *[4][8]float32)

//go:noescape
func tile4x3F32LanesAVX2(w *byte, rowBytes int, x0, x1, x2 *float32, n int, out *[12][8]float32)

//go:noescape
func tile4x3F16LanesAVX2(w *byte, rowBytes int, x0, x1, x2 *float32, n int, out *[12][8]float32)

//go:noescape
func tile4x3BF16LanesAVX2(w *byte, rowBytes int, x0, x1, x2 *float32, n int, out *[12][8]float32)

//go:noescape
func dotBF16LanesAVX2(w *byte, x *float32, n int, acc *[8]float32)

//go:noescape
func tileBF16LanesAVX2(w *byte, rowBytes int, x0, x1 *float32, n int, out *[4][8]float32)

// The wrappers call the assembly directly (not through function values)
// so that the lane buffers stay on the stack.

func dotF32AVX2(w []byte, v *Vector) float32 {
	x := v.f[:v.n]
	w = w[:len(x)*4]
	var s [8]float32
	n8 := len(x) &^ 7
	if n8 > 0 {
		dotF32LanesAVX2(&w[0], &x[0], n8, &s)
	}
	floatTail(F32, &s, w, x, n8)
	return sum8(&s)
}

func dotF16AVX2(w []byte, v *Vector) float32 {
	x := v.f[:v.n]
	w = w[:len(x)*2]
	var s [8]float32
	n8 := len(x) &^ 7
	if n8 > 0 {
		dotF16LanesAVX2(&w[0], &x[0], n8, &s)
	}
	floatTail(F16, &s, w, x, n8)
	return sum8(&s)
}

func dotBF16AVX2(w []byte, v *Vector) float32 {
	x := v.f[:v.n]
	w = w[:len(x)*2]
	var s [8]float32
	n8 := len(x) &^ 7
	if n8 > 0 {
		dotBF16LanesAVX2(&w[0], &x[0], n8, &s)
	}
	floatTail(BF16, &s, w, x, n8)
	return sum8(&s)
}

func tileF32AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	floatTile4x3(F32, dst, ldd, w, rowBytes, rows, vs)
}

func tileF16AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	floatTile4x3(F16, dst, ldd, w, rowBytes, rows, vs)
}

func tileBF16AVX2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	floatTile4x3(BF16, dst, ldd, w, rowBytes, rows, vs)
}

// floatTile4x3 runs the float type t's 4×3 micro-kernel over the tile,
// and its 2×2 one or dot products at the edges.
func floatTile4x3(t Type, dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	size := 4
	if t != F32 {
		size = 2
	}
	n := rowBytes / size
	if n < 8 || rows < 4 || len(vs) < 3 {
		floatTile2x2(t, dst, ldd, w, rowBytes, rows, vs)
		return
	}
	_ = w[rows*rowBytes-1]
	_ = dst[(len(vs)-1)*ldd+rows-1]
	n8 := n &^ 7
	r := 0
	for ; r+4 <= rows; r += 4 {
		row := w[r*rowBytes : (r+4)*rowBytes]
		c := 0
		for ; c+3 <= len(vs); c += 3 {
			x0, x1, x2 := vs[c].f[:n], vs[c+1].f[:n], vs[c+2].f[:n]
			var s [12][8]float32
			switch t {
			case F32:
				tile4x3F32LanesAVX2(&row[0], rowBytes, &x0[0], &x1[0], &x2[0], n8, &s)
			case F16:
				tile4x3F16LanesAVX2(&row[0], rowBytes, &x0[0], &x1[0], &x2[0], n8, &s)
			default:
				tile4x3BF16LanesAVX2(&row[0], rowBytes, &x0[0], &x1[0], &x2[0], n8, &s)
			}
			for i := range 4 {
				wi := row[i*rowBytes : i*rowBytes+n*size]
				floatTail(t, &s[3*i], wi, x0, n8)
				floatTail(t, &s[3*i+1], wi, x1, n8)
				floatTail(t, &s[3*i+2], wi, x2, n8)
				dst[c*ldd+r+i] = sum8(&s[3*i])
				dst[(c+1)*ldd+r+i] = sum8(&s[3*i+1])
				dst[(c+2)*ldd+r+i] = sum8(&s[3*i+2])
			}
		}
		if c < len(vs) {
			floatTile2x2(t, dst[c*ldd+r:], ldd, row, rowBytes, 4, vs[c:])
		}
	}
	if r < rows {
		floatTile2x2(t, dst[r:], ldd, w[r*rowBytes:], rowBytes, rows-r, vs)
	}
}

// floatTile2x2 runs the float type t's 2×2 micro-kernel over the tile,
// and dot products at its odd edges.
func floatTile2x2(t Type, dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	switch t {
	case F32:
		tileF32AVX2x2(dst, ldd, w, rowBytes, rows, vs)
	case F16:
		tileF16AVX2x2(dst, ldd, w, rowBytes, rows, vs)
	default:
		tileBF16AVX2x2(dst, ldd, w, rowBytes, rows, vs)
	}
}

func tileF32AVX2x2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 4, dotF32AVX2, func(row []byte, a, b *Vector, n int) [4]float32 {
		return floatTile2(F32, row, a, b, n)
	})
}

func tileF16AVX2x2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 2, dotF16AVX2, func(row []byte, a, b *Vector, n int) [4]float32 {
		return floatTile2(F16, row, a, b, n)
	})
}

func tileBF16AVX2x2(dst []float32, ldd int, w []byte, rowBytes, rows int, vs []Vector) {
	tile2x2(dst, ldd, w, rowBytes, rows, vs, 2, dotBF16AVX2, func(row []byte, a, b *Vector, n int) [4]float32 {
		return floatTile2(BF16, row, a, b, n)
	})
}

// floatTile2 is the 2×2 micro-kernel of the float type t for tile2x2:
// the weight rows row[:len(row)/2] and row[len(row)/2:] times a and b, n
// elements each, every product finished as the type's dot finishes it.
func floatTile2(t Type, row []byte, a, b *Vector, n int) (out [4]float32) {
	size := 4
	if t != F32 {
		size = 2
	}
	rowBytes := len(row) / 2
	xa, xb := a.f[:n], b.f[:n]
	w0, w1 := row[:n*size], row[rowBytes:rowBytes+n*size]
	var s [4][8]float32
	n8 := n &^ 7
	if n8 > 0 {
		switch t {
		case F32:
			tileF32LanesAVX2(&row[0], rowBytes, &xa[0], &xb[0], n8, &s)
		case F16:
			tileF16LanesAVX2(&row[0], rowBytes, &xa[0], &xb[0], n8, &s)
		default:
			tileBF16LanesAVX2(&row[0], rowBytes, &xa[0], &xb[0], n8, &s)
		}
	}
	floatTail(t, &s[0], w0, xa, n8)
	floatTail(t, &s[1], w0, xb, n8)
	floatTail(t, &s[2], w1, xa, n8)
	floatTail(t, &s[3], w1, xb, n8)
	for i := range out {
		out[i] = sum8(&s[i])
	}
	return out
}

// floatTail adds the products of the float type t's elements from.. into
// the lanes, each product rounded before the sum as in the scalar
// kernels.
func floatTail(t Type, s *[8]float32, w []byte, x []float32, from int) {
	for i := from; i < len(x); i++ {
		var f float32
		switch t {
		case F32:
			f = math.Float32frombits(binary.LittleEndian.Uint32(w[i*4:]))
		case F16:
			f = f16At(w[2*i], w[2*i+1])
		default:
			f = bf16At(w[2*i], w[2*i+1])
		}
		s[i&7] += float32(f * x[i])
	}
}
