package model

import "math"

// expf is e^x for float32 arguments: a degree-7 polynomial on a reduced
// range, computed in float64, so that it is within an ulp of libm's expf
// (which llama.cpp uses in attention) at a fraction of math.Exp's cost.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.73:
		return float32(math.Inf(1))
	case x < -104:
		return 0
	}
	const (
		log2e = 1.4426950408889634
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
	)
	xd := float64(x)
	n := math.Floor(xd*log2e + 0.5)
	r := xd - n*ln2Hi - n*ln2Lo
	// e^r on |r| ≤ ln2/2, Taylor to r^7: error below 2^-27 relative.
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return float32(p * math.Float64frombits(uint64(int64(n)+1023)<<52))
}

// silu is x·σ(x), as ggml computes it: x/(1+e^-x).
func silu(x float32) float32 { return x / (1 + expf(-x)) }
