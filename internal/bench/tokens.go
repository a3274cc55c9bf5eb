package bench

import "math"

// Tokens returns the first n tokens of the pseudo-random sequence
// tools/oracle/bench.mjs feeds llama.cpp, so that both engines see the
// same prompts: an LCG computed, as JavaScript computes it, in float64
// (the product loses low bits past 2^53, and the result must lose the
// same ones), mapped into [100, min(vocab, 30000)).
func Tokens(n, vocab int) []int32 {
	span := float64(max(1, min(vocab, 30000)-100))
	s := 12345.0
	out := make([]int32, n)
	for i := range out {
		// The explicit conversion rounds the product on its own, as
		// JavaScript does; without it the compiler may fuse the
		// multiply and add into one rounding.
		s = math.Mod(float64(s*1103515245)+12345, 2147483648)
		out[i] = int32(100 + math.Mod(s, span))
	}
	return out
}
