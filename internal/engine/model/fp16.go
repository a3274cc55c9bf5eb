package model

import (
	"math"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// The KV cache holds IEEE half floats, as llama.cpp's default (F16) cache
// does; these convert with round-to-nearest-even, like F16C's VCVTPS2PH.

// The conversions are quant's, which are bit-exact with ggml's.
func f16ToF32(h uint16) float32 { return quant.F16ToF32(h) }
func f32ToF16(f float32) uint16 { return quant.F32ToF16(f) }

// round16 returns f rounded to half precision, as a float32. Values in
// the half-normal range round in place on their float32 bits; the rest
// take the full conversion.
func round16(f float32) float32 {
	b := math.Float32bits(f)
	if (b>>23)&0xff-113 <= 142-113 { // 2^-14 <= |f| < 2^16
		b += 0xfff + (b>>13)&1
		b &^= 0x1fff
		if (b>>23)&0xff > 142 { // rounded past 65504
			return math.Float32frombits(b&0x80000000 | 0x7f800000)
		}
		return math.Float32frombits(b)
	}
	return quant.F16ToF32(quant.F32ToF16(f))
}
