package quant

import "math"

// Shared pieces of the K-quants (super-blocks of 256 elements) and of
// their reference quantisers. Every float expression keeps C's evaluation
// order, and products that feed a sum are rounded explicitly, so the
// quantisers produce llama.cpp's bytes exactly.

const groupMaxEps = 1e-15

// scaleMinK4 decodes the j-th 6-bit scale and min of Q4_K and Q5_K from
// their 12-byte packing (get_scale_min_k4).
func scaleMinK4(j int, q *[12]byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&15 | q[j-4]>>6<<4, q[j+4]>>4 | q[j]>>6<<4
}

// packScaleMinK4 is the inverse of scaleMinK4 for 8 scales and mins of up
// to 6 bits.
func packScaleMinK4(q *[12]byte, ls, lm *[8]uint8) {
	*q = [12]byte{}
	for j := 0; j < 8; j++ {
		if j < 4 {
			q[j] = ls[j]
			q[j+4] = lm[j]
		} else {
			q[j+4] = ls[j]&15 | (lm[j]&15)<<4
			q[j-4] |= ls[j] >> 4 << 6
			q[j] |= lm[j] >> 4 << 6
		}
	}
}

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

// makeQKX2Quants is ggml's make_qkx2_quants: it searches nstep+1 scales
// for the (scale, min) pair of least weighted error and returns the scale,
// with the negated min in theMin and the quants in l.
func makeQKX2Quants(x, weights []float32, nmax int32, l, laux []uint8, rmin, rdelta float32, nstep int, useMAD bool) (scale, theMin float32) {
	n := len(x)
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		for i := range l[:n] {
			l[i] = 0
		}
		return 0, -mn
	}
	iscale := float32(nmax) / (mx - mn)
	scale = 1 / iscale
	var bestError float32
	for i := 0; i < n; i++ {
		q := clampInt(nearestInt(float32(iscale*float32(x[i]-mn))), 0, nmax)
		l[i] = uint8(q)
		diff := float32(float32(scale*float32(q))+mn) - x[i]
		if useMAD {
			diff = abs32(diff)
		} else {
			diff = float32(diff * diff)
		}
		bestError += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + float32(nmax)) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			q := clampInt(nearestInt(float32(iscale*float32(x[i]-mn))), 0, nmax)
			laux[i] = uint8(q)
			w := weights[i]
			wl := float32(w * float32(q))
			sumL += wl
			sumL2 += float32(wl * float32(q))
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i := 0; i < n; i++ {
				diff := float32(float32(thisScale*float32(laux[i]))+thisMin) - x[i]
				if useMAD {
					diff = abs32(diff)
				} else {
					diff = float32(diff * diff)
				}
				curError += float32(weights[i] * diff)
			}
			if curError < bestError {
				copy(l[:n], laux[:n])
				bestError = curError
				scale = thisScale
				mn = thisMin
			}
		}
	}
	return scale, -mn
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no quant
// weights (the case quantize_row_q6_K_ref uses): it tries 19 scales around
// -nmax/max, weighting errors by x², and leaves l = q + nmax.
func makeQXQuants(x []float32, nmax int32, l []int8) float32 {
	n := len(x)
	var max, amax float32
	for _, f := range x {
		if a := abs32(f); a > amax {
			amax, max = a, f
		}
	}
	if amax < groupMaxEps {
		for i := range l[:n] {
			l[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / max
	var sumLX, sumL2 float32
	for i, f := range x {
		q := clampInt(nearestInt(float32(iscale*f)), -nmax, nmax-1)
		l[i] = int8(q + nmax)
		w := float32(f * f)
		sumLX += float32(float32(w*f) * float32(q))
		sumL2 += float32(float32(w*float32(q)) * float32(q))
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := float32(scale * sumLX)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumLX, sumL2 = 0, 0
		for _, f := range x {
			q := clampInt(nearestInt(float32(iscale*f)), -nmax, nmax-1)
			w := float32(f * f)
			sumLX += float32(float32(w*f) * float32(q))
			sumL2 += float32(float32(w*float32(q)) * float32(q))
		}
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i, f := range x {
				l[i] = int8(nmax + clampInt(nearestInt(float32(iscale*f)), -nmax, nmax-1))
			}
			scale = sumLX / sumL2
			best = float32(scale * sumLX)
		}
	}
	return scale
}

func clampInt(v, lo, hi int32) int32 {
	return max(lo, min(hi, v))
}

// quantizeKScaleMin is the first half of Q4_K's and Q5_K's reference
// quantisers: it finds each 32-element sub-block's scale and minimum
// (weighted by |x| plus the block's RMS), packs them into head, and
// re-quantises the block with the packed 6-bit values into l.
func quantizeKScaleMin(x *[256]float32, head *[16]byte, l *[256]uint8, nmax int32, rmin float32, nstep int) {
	var (
		laux             [32]uint8
		weights          [32]float32
		scales, mins     [8]float32
		maxScale, maxMin float32
	)
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, f := range xs {
			sumX2 += float32(f * f)
		}
		avX := sqrt32(sumX2 / 32)
		for k, f := range xs {
			weights[k] = avX + abs32(f)
		}
		scales[j], mins[j] = makeQKX2Quants(xs, weights[:], nmax, l[32*j:32*j+32], laux[:], rmin, 0.1, nstep, false)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	packKScales(head, &scales, &mins, maxScale, maxMin)
	requantizeK(x, head, l, nmax)
}
