package model

import (
	"math"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// The inner loops of attention and of the per-token operations, in two
// versions: the portable Go below, the reference, and SIMD assembly
// (attnkern_amd64.s) where the architecture file provides it. The two
// give the same results up to the order of float additions: the same
// products, the same roundings to F16, a bit-identical expf.
//
// fastKernels says whether a forward pass uses the assembly: when this
// build and CPU have it and quant's kernel tier is not "scalar" (set with
// TETHER_KERNELS=scalar or quant.SetKernelTier), so that one switch picks
// the plain or the fast arithmetic for the whole engine. A forward pass
// reads it once and passes the answer down.
func fastKernels() bool { return haveAsm && quant.KernelTier() != "scalar" }

// widenF16 sets dst[i] to src[i] widened to float32.
func widenF16(fast bool, dst []float32, src []uint16) {
	dst = dst[:len(src)]
	if fast {
		widenF16Asm(dst, src)
		return
	}
	for i, h := range src {
		dst[i] = f16ToF32(h)
	}
}

// scoresF32 sets dst[j] = (q · k_j)·scale for every j < len(dst), where
// k_j is k[j·len(q):], and returns the largest of them (-Inf for none).
func scoresF32(fast bool, dst, q, k []float32, scale float32) float32 {
	dim := len(q)
	if fast && dim%8 == 0 && dim > 0 {
		return scoresF32Asm(dst, q, k, scale)
	}
	m := float32(math.Inf(-1))
	k = k[:len(dst)*dim]
	for j := range dst {
		var dot float32
		for i, kv := range k[j*dim : (j+1)*dim] {
			dot += q[i] * kv
		}
		dst[j] = dot * scale
		m = max(m, dst[j])
	}
	return m
}

// expSum sets p[i] = expf(p[i] - m) and returns their sum.
func expSum(fast bool, p []float32, m float32) float32 {
	if fast {
		return expSumAsm(p, m)
	}
	var sum float32
	for i, x := range p {
		e := expf(x - m)
		p[i] = e
		sum += e
	}
	return sum
}

// accPV adds Σ_j p[j]·v_j to out, where v_j is v[j·len(out):]; each
// element of out takes its terms in order of j.
func accPV(fast bool, out, p, v []float32) {
	dim := len(out)
	if fast && dim%8 == 0 && dim > 0 {
		accPVAsm(out, p, v)
		return
	}
	v = v[:len(p)*dim]
	for j, pj := range p {
		for i, x := range v[j*dim : (j+1)*dim] {
			out[i] += pj * x
		}
	}
}

// dotsF16 sets out[h] = (q_h · k)·scale for every query head h, where q_h
// is q[h·len(k):] (F16 values held as float32) and k one F16 key row.
func dotsF16(fast bool, out, q []float32, k []uint16, scale float32) {
	dim := len(k)
	if fast && dim%8 == 0 && dim > 0 {
		dotsF16Asm(out, q, k, scale)
		return
	}
	q = q[:len(out)*dim]
	for h := range out {
		var dot float32
		for i, kv := range k {
			dot += q[h*dim+i] * f16ToF32(kv)
		}
		out[h] = dot * scale
	}
}

// madF16s runs madF16(acc_h, v, s[h]) for every head h, where acc_h is
// acc[h·len(v):].
func madF16s(fast bool, acc []float32, v []uint16, s []float32) {
	dim := len(v)
	if fast && dim%8 == 0 && dim > 0 {
		madF16sAsm(acc, v, s)
		return
	}
	for h, sh := range s {
		madF16(acc[h*dim:(h+1)*dim], v, sh)
	}
}

// madF16 is ggml_vec_mad_f16: acc += v·s with one rounding to F16 per
// element, after a fused multiply-add. round16 is spelled out because the
// compiler does not inline it here, the hottest loop of long decodes.
func madF16(acc []float32, v []uint16, s float32) {
	acc = acc[:len(v)]
	s64 := float64(s)
	for i, h := range v {
		f := float32(float64(acc[i]) + float64(f16ToF32(h))*s64)
		b := math.Float32bits(f)
		if (b>>23)&0xff-113 <= 142-113 && (b>>23)&0xff != 142 {
			b += 0xfff + (b>>13)&1
			b &^= 0x1fff
			acc[i] = math.Float32frombits(b)
			continue
		}
		acc[i] = round16(f)
	}
}

// siluMul sets gate[i] = silu(gate[i])·up[i], SwiGLU's product. The fast
// version takes expf eight at a time from the assembly, bit-identical to
// expf, so both give the same results.
func siluMul(fast bool, gate, up []float32) {
	up = up[:len(gate)]
	if !fast {
		for i, g := range gate {
			gate[i] = silu(g) * up[i]
		}
		return
	}
	var e [256]float32
	for off := 0; off < len(gate); off += len(e) {
		g := gate[off:min(off+len(e), len(gate))]
		u := up[off : off+len(g)]
		ex := e[:len(g)]
		for i, x := range g {
			ex[i] = -x
		}
		expSum(true, ex, 0)
		for i, x := range g {
			g[i] = x / (1 + ex[i]) * u[i]
		}
	}
}
