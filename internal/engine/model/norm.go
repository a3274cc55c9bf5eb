package model

import "math"

// rmsNorm sets dst = x/rms(x)·w, with ggml's arithmetic: squares summed
// in float64, the mean and the scale rounded to float32.
func rmsNorm(dst, x, w []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}
