package quant

import (
	"fmt"
	"math"
)

// kernel is one weight type's entry in the kernel table. The functions
// trust their arguments' lengths (the exported wrappers check them), so a
// SIMD implementation can replace any of them at init without repeating
// the checks.
type kernel struct {
	// vecDotType is the type activations are converted to for dot.
	vecDotType Type
	// dequantize expands whole blocks: len(dst) elements from src.
	dequantize func(dst []float32, src []byte)
	// quantize is ggml's reference quantiser (what llama-quantize and the
	// converters write): len(src) elements into dst.
	quantize func(dst []byte, src []float32)
	// dot is the product of the weight row w (v.n elements) with v, whose
	// type is vecDotType.
	dot func(w []byte, v *Vector) float32
	// tile is the matrix-matrix micro-kernel, nil where a tier has none
	// (then products go through dot).
	tile tileFunc
}

// kernels is indexed by Type; nil means unsupported.
var kernels [numTypes]*kernel

// Dequantize expands the len(dst) elements held in src, which must be
// exactly their size in t's layout.
func Dequantize(t Type, dst []float32, src []byte) error {
	k, err := kernelFor(t)
	if err != nil {
		return err
	}
	if err := checkBytes(t, len(dst), len(src)); err != nil {
		return err
	}
	k.dequantize(dst, src)
	return nil
}

// Quantize writes src into dst with ggml's reference quantiser for t, the
// one llama.cpp uses for model files (no importance matrix). dst must be
// exactly the size of len(src) elements of t.
func Quantize(t Type, dst []byte, src []float32) error {
	k, err := kernelFor(t)
	if err != nil {
		return err
	}
	if err := checkBytes(t, len(src), len(dst)); err != nil {
		return err
	}
	k.quantize(dst, src)
	return nil
}

// VecDot returns the dot product of the weight row w of type t with the
// prepared activation row v, as llama.cpp computes it. v must have t's
// vec-dot type and w must hold exactly v.Len() elements.
func VecDot(t Type, w []byte, v *Vector) (float32, error) {
	k, err := kernelFor(t)
	if err != nil {
		return 0, err
	}
	if v.typ != k.vecDotType {
		return 0, fmt.Errorf("%w: %s weights need a %s activation row, not %s", ErrLength, t, k.vecDotType, v.typ)
	}
	if err := checkBytes(t, v.n, len(w)); err != nil {
		return 0, err
	}
	return k.dot(w, v), nil
}

// Dot returns the dot product of the weight row w of type t with the
// activation row x the way llama.cpp's CPU backend computes it: x is first
// converted to t's vec-dot type. It allocates; hot loops use [Vector] and
// [VecDot] or a [Matrix].
func Dot(t Type, w []byte, x []float32) (float32, error) {
	k, err := kernelFor(t)
	if err != nil {
		return 0, err
	}
	var v Vector
	if err := v.Quantize(k.vecDotType, x); err != nil {
		return 0, err
	}
	return VecDot(t, w, &v)
}

// DotFloat is the reference path: it dequantises w and accumulates the
// products with x in float64. It allocates.
func DotFloat(t Type, w []byte, x []float32) (float32, error) {
	f := make([]float32, len(x))
	if err := Dequantize(t, f, w); err != nil {
		return 0, err
	}
	var s float64
	for i, v := range f {
		s += float64(v) * float64(x[i])
	}
	return float32(s), nil
}

func kernelFor(t Type) (*kernel, error) {
	if !t.Supported() {
		return nil, t.unsupported()
	}
	return kernels[t], nil
}

// checkBytes checks that n elements of t take exactly size bytes.
func checkBytes(t Type, n, size int) error {
	want, err := t.RowBytes(n)
	if err != nil {
		return err
	}
	if want != size {
		return fmt.Errorf("%w: %d elements of %s take %d bytes, got %d", ErrLength, n, t, want, size)
	}
	return nil
}

// nearestInt is ggml's rounding for the K-quant quantisers: round half to
// even through the float32 adder, valid for |f| < 2^22. The explicit
// float32 conversion keeps the compiler from fusing a caller's product
// into the addition, which would change the result.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x7fffff) - 0x400000
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// f16At reads the little-endian half at b[0:2].
func f16At(lo, hi byte) float32 { return f16Table[uint16(lo)|uint16(hi)<<8] }

func putF16(b []byte, f float32) {
	h := F32ToF16(f)
	b[0] = byte(h)
	b[1] = byte(h >> 8)
}
