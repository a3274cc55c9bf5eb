package model

import "math"

// rotary computes rotary-embedding angles the way ggml's CPU rope does:
// the angle of pair i is pos·θ^(-2i/dims), built by repeated float32
// multiplication, divided by the pair's frequency factor, then bent by
// YaRN's ramp and scaled by the attention factor.
type rotary struct {
	Rope
	thetaScale float32
	corr       [2]float32
}

func newRotary(r Rope) *rotary {
	rt := &rotary{Rope: r}
	rt.thetaScale = float32(math.Pow(float64(r.FreqBase), float64(float32(-2)/float32(r.Dims))))
	if r.ExtFactor != 0 {
		rt.corr = yarnCorrDims(r.Dims, r.OrigContext, r.FreqBase, r.BetaFast, r.BetaSlow)
	}
	return rt
}

// yarnCorrDims is the range of rotated pairs over which YaRN blends
// interpolation into extrapolation.
func yarnCorrDims(dims, origCtx int, base, betaFast, betaSlow float32) [2]float32 {
	corrDim := func(nRot float32) float32 {
		return float32(dims) * float32(math.Log(float64(float32(origCtx)/(nRot*2*math.Pi)))) / (2 * float32(math.Log(float64(base))))
	}
	start := float32(math.Floor(float64(corrDim(betaFast))))
	end := float32(math.Ceil(float64(corrDim(betaSlow))))
	return [2]float32{max(0, start), min(float32(dims-1), end)}
}

// angles fills cs with cos and sin (interleaved) of every rotated pair at
// position pos; len(cs) == Dims.
func (r *rotary) angles(cs []float32, pos int) {
	theta := float32(pos)
	for i0 := 0; i0 < r.Dims; i0 += 2 {
		ff := float32(1)
		if r.Factors != nil {
			ff = r.Factors[i0/2]
		}
		cs[i0], cs[i0+1] = r.yarn(theta/ff, i0)
		theta *= r.thetaScale
	}
}

func (r *rotary) yarn(thetaExtrap float32, i0 int) (cos, sin float32) {
	thetaInterp := r.FreqScale * thetaExtrap
	theta := thetaInterp
	mscale := r.AttnFactor
	if r.ExtFactor != 0 {
		y := (float32(i0/2) - r.corr[0]) / max(0.001, r.corr[1]-r.corr[0])
		rampMix := (1 - min(1, max(0, y))) * r.ExtFactor
		theta = thetaInterp*(1-rampMix) + thetaExtrap*rampMix
		mscale *= 1 + 0.1*float32(math.Log(float64(1/r.FreqScale)))
	}
	return float32(math.Cos(float64(theta))) * mscale, float32(math.Sin(float64(theta))) * mscale
}

// apply rotates one head x in place with the angles cs.
func (r *rotary) apply(x, cs []float32) {
	if r.Type == RopeNeox {
		half := r.Dims / 2
		for i := 0; i < half; i++ {
			c, s := cs[2*i], cs[2*i+1]
			x0, x1 := x[i], x[i+half]
			x[i] = x0*c - x1*s
			x[i+half] = x0*s + x1*c
		}
		return
	}
	for i := 0; i < r.Dims; i += 2 {
		c, s := cs[i], cs[i+1]
		x0, x1 := x[i], x[i+1]
		x[i] = x0*c - x1*s
		x[i+1] = x0*s + x1*c
	}
}

// YarnAttnFactor is the attention factor llama.cpp derives for YaRN at
// frequency scale freqScale (files without rope.scaling.yarn_log_multiplier):
// YaRN's magnitude correction, cancelled by the one the rope kernel
// applies itself.
func YarnAttnFactor(freqScale float32) float32 {
	factor := 1 / freqScale
	mscale := float32(1)
	if factor > 1 {
		mscale = 0.1*float32(math.Log(float64(factor))) + 1
	}
	return mscale * (1 / (1 + 0.1*float32(math.Log(float64(factor)))))
}
