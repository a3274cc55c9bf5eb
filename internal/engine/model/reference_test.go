package model

import (
	"math"
	"math/rand/v2"
)

// This file holds a plain transformer, written from the formulas with
// naive loops and float64 arithmetic, for the forward pass to be checked
// against, and the random tiny models both run.

// dense is an F32 matrix [out][in], row-major; it implements Linear and
// Embedding with float64 sums, so MatVec and MatMul agree bit for bit.
type dense struct {
	in, out int
	w       []float32
}

func (d *dense) In() int   { return d.in }
func (d *dense) Out() int  { return d.out }
func (d *dense) Rows() int { return d.out }
func (d *dense) Cols() int { return d.in }

func (d *dense) Row(dst []float32, i int) { copy(dst, d.w[i*d.in:(i+1)*d.in]) }

func (d *dense) MatVec(dst, x []float32) {
	for o := range d.out {
		var s float64
		for i, w := range d.w[o*d.in : (o+1)*d.in] {
			s += float64(w) * float64(x[i])
		}
		dst[o] = float32(s)
	}
}

func (d *dense) MatMul(dst, x []float32, n int) {
	for r := range n {
		d.MatVec(dst[r*d.out:(r+1)*d.out], x[r*d.in:(r+1)*d.in])
	}
}

func (d *dense) at(o, i int) float64 { return float64(d.w[o*d.in+i]) }

// variant describes one tiny test model.
type variant struct {
	name    string
	arch    Arch
	embd    int
	heads   int
	kvHeads int
	headDim int
	ff      int
	vocab   int
	layers  int
	tied    bool
	biases  bool
	oBias   bool
	qkNorm  bool
	base    float32
	factors bool    // llama3 rope_freqs
	linear  float32 // linear rope scaling factor, 0 for none
	yarn    float32 // YaRN factor, 0 for none
}

func variants() []variant {
	return []variant{
		{name: "llama GQA untied", arch: ArchLlama, embd: 64, heads: 4, kvHeads: 2, headDim: 16, ff: 128, vocab: 97, layers: 2, base: 10000},
		{name: "llama MHA tied", arch: ArchLlama, embd: 64, heads: 4, kvHeads: 4, headDim: 16, ff: 96, vocab: 61, layers: 2, tied: true, base: 10000},
		{name: "llama3 rope_freqs", arch: ArchLlama, embd: 64, heads: 4, kvHeads: 1, headDim: 16, ff: 128, vocab: 80, layers: 2, base: 500000, factors: true, oBias: true},
		{name: "llama linear scaling", arch: ArchLlama, embd: 32, heads: 2, kvHeads: 1, headDim: 16, ff: 64, vocab: 50, layers: 3, base: 10000, linear: 4},
		{name: "llama yarn", arch: ArchLlama, embd: 64, heads: 4, kvHeads: 2, headDim: 16, ff: 128, vocab: 70, layers: 2, base: 10000, yarn: 4},
		{name: "qwen2 biases tied", arch: ArchQwen2, embd: 64, heads: 4, kvHeads: 2, headDim: 16, ff: 128, vocab: 90, layers: 2, tied: true, biases: true, base: 1000000},
		{name: "qwen3 qk-norm head_dim 32", arch: ArchQwen3, embd: 64, heads: 4, kvHeads: 2, headDim: 32, ff: 128, vocab: 90, layers: 2, qkNorm: true, base: 1000000},
	}
}

// build makes the model's config and random weights (seeded by seed),
// with the oracle generator's distributions.
func (v variant) build(seed uint64) (Config, Weights) {
	r := rand.New(rand.NewPCG(seed, 99))
	gauss := func(n int, mean, std float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(mean + std*r.NormFloat64())
		}
		return out
	}
	mat := func(in, out int, std float64) *dense {
		return &dense{in: in, out: out, w: gauss(in*out, 0, std)}
	}
	inv := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }

	cfg := Config{
		Arch: v.arch, ContextLength: 4096, Vocab: v.vocab, Embd: v.embd, Layers: v.layers, FF: v.ff,
		Heads: v.heads, KVHeads: v.kvHeads, HeadDimK: v.headDim, HeadDimV: v.headDim, RMSEps: 1e-6,
		AttnScale: float32(1 / math.Sqrt(float64(v.headDim))),
		Rope: Rope{
			Type: RopeTypeOf(v.arch), Dims: v.headDim, FreqBase: v.base, FreqScale: 1,
			Scaling: RopeScalingLinear, OrigContext: 4096, AttnFactor: 1, BetaFast: 32, BetaSlow: 1,
		},
	}
	if v.factors {
		cfg.Rope.Factors = make([]float32, v.headDim/2)
		for i := range cfg.Rope.Factors {
			cfg.Rope.Factors[i] = float32(1 + 7*r.Float64())
		}
	}
	if v.linear != 0 {
		cfg.Rope.Scaling, cfg.Rope.FreqScale = RopeScalingLinear, 1/v.linear
	}
	if v.yarn != 0 {
		cfg.Rope.Scaling, cfg.Rope.FreqScale = RopeScalingYarn, 1/v.yarn
		cfg.Rope.ExtFactor = 1
		cfg.Rope.OrigContext = 256
		cfg.Rope.AttnFactor = YarnAttnFactor(cfg.Rope.FreqScale)
	}

	emb := mat(v.embd, v.vocab, 1)
	w := Weights{TokenEmbd: emb, OutputNorm: gauss(v.embd, 1, 0.1), Output: emb}
	if !v.tied {
		w.Output = mat(v.embd, v.vocab, 4*inv(v.embd))
	}
	qd, kd := v.heads*v.headDim, v.kvHeads*v.headDim
	for range v.layers {
		l := Layer{
			AttnNorm: gauss(v.embd, 1, 0.1),
			Q:        mat(v.embd, qd, inv(v.embd)),
			K:        mat(v.embd, kd, inv(v.embd)),
			V:        mat(v.embd, kd, inv(v.embd)),
			O:        mat(qd, v.embd, inv(qd)),
			FFNNorm:  gauss(v.embd, 1, 0.1),
			Gate:     mat(v.embd, v.ff, inv(v.embd)),
			Up:       mat(v.embd, v.ff, inv(v.embd)),
			Down:     mat(v.ff, v.embd, inv(v.ff)),
		}
		if v.biases {
			l.QBias, l.KBias, l.VBias = gauss(qd, 0, 0.5), gauss(kd, 0, 0.5), gauss(kd, 0, 0.5)
		}
		if v.oBias {
			l.OBias = gauss(v.embd, 0, 0.1)
		}
		if v.qkNorm {
			l.QNorm, l.KNorm = gauss(v.headDim, 1, 0.1), gauss(v.headDim, 1, 0.1)
		}
		w.Layers = append(w.Layers, l)
	}
	return cfg, w
}

// reference runs the transformer from its formulas in float64. With
// roundKV it rounds to F16 where llama.cpp's flash attention over an F16
// cache does: keys, values and queries, and the running weighted sum of
// values, which it keeps with an online softmax.
type reference struct {
	cfg     Config
	w       Weights
	roundKV bool
}

func (rf *reference) linear(m Linear, x []float64) []float64 {
	d := m.(*dense)
	y := make([]float64, d.out)
	for o := range d.out {
		for i := range d.in {
			y[o] += d.at(o, i) * x[i]
		}
	}
	return y
}

func (rf *reference) rmsNorm(x []float64, w []float32) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	scale := 1 / math.Sqrt(ss/float64(len(x))+float64(rf.cfg.RMSEps))
	y := make([]float64, len(x))
	for i := range x {
		y[i] = x[i] * scale * float64(w[i])
	}
	return y
}

func (rf *reference) rope(x []float64, pos int) {
	r := rf.cfg.Rope
	var corr [2]float64
	if r.ExtFactor != 0 {
		corrDim := func(beta float64) float64 {
			return float64(r.Dims) * math.Log(float64(r.OrigContext)/(beta*2*math.Pi)) / (2 * math.Log(float64(r.FreqBase)))
		}
		corr = [2]float64{max(0, math.Floor(corrDim(float64(r.BetaFast)))), min(float64(r.Dims-1), math.Ceil(corrDim(float64(r.BetaSlow))))}
	}
	for i := 0; i < r.Dims/2; i++ {
		extrap := float64(pos) * math.Pow(float64(r.FreqBase), -2*float64(i)/float64(r.Dims))
		if r.Factors != nil {
			extrap /= float64(r.Factors[i])
		}
		theta := float64(r.FreqScale) * extrap
		mscale := float64(r.AttnFactor)
		if r.ExtFactor != 0 {
			y := (float64(i) - corr[0]) / max(0.001, corr[1]-corr[0])
			mix := (1 - min(1, max(0, y))) * float64(r.ExtFactor)
			theta = theta*(1-mix) + extrap*mix
			mscale *= 1 + 0.1*math.Log(1/float64(r.FreqScale))
		}
		c, s := math.Cos(theta)*mscale, math.Sin(theta)*mscale
		a, b := 2*i, 2*i+1
		if r.Type == RopeNeox {
			a, b = i, i+r.Dims/2
		}
		x0, x1 := x[a], x[b]
		x[a], x[b] = x0*c-x1*s, x0*s+x1*c
	}
}

func (rf *reference) f16(x []float64) {
	if rf.roundKV {
		for i := range x {
			x[i] = float64(round16(float32(x[i])))
		}
	}
}

// logits returns the logits after each token of a sequence.
func (rf *reference) logits(tokens []int32) [][]float64 {
	c, w := rf.cfg, rf.w
	hd := c.HeadDimK
	keys := make([][][]float64, c.Layers) // [layer][pos] all kv heads
	vals := make([][][]float64, c.Layers)
	var out [][]float64
	for pos, tok := range tokens {
		x := make([]float64, c.Embd)
		row := make([]float32, c.Embd)
		w.TokenEmbd.Row(row, int(tok))
		for i, v := range row {
			x[i] = float64(v)
		}
		for l := range c.Layers {
			L := w.Layers[l]
			xn := rf.rmsNorm(x, L.AttnNorm)
			q, k, v := rf.linear(L.Q, xn), rf.linear(L.K, xn), rf.linear(L.V, xn)
			for i := range q {
				if L.QBias != nil {
					q[i] += float64(L.QBias[i])
				}
			}
			for i := range k {
				if L.KBias != nil {
					k[i] += float64(L.KBias[i])
				}
				if L.VBias != nil {
					v[i] += float64(L.VBias[i])
				}
			}
			for h := range c.Heads {
				head := q[h*hd : (h+1)*hd]
				if L.QNorm != nil {
					copy(head, rf.rmsNorm(head, L.QNorm))
				}
				rf.rope(head, pos)
				rf.f16(head)
			}
			for h := range c.KVHeads {
				head := k[h*hd : (h+1)*hd]
				if L.KNorm != nil {
					copy(head, rf.rmsNorm(head, L.KNorm))
				}
				rf.rope(head, pos)
			}
			rf.f16(k)
			rf.f16(v)
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)

			attn := make([]float64, c.Heads*hd)
			for h := range c.Heads {
				kvh := h / (c.Heads / c.KVHeads)
				qh := q[h*hd : (h+1)*hd]
				if rf.roundKV {
					rf.attendF16(attn[h*hd:(h+1)*hd], qh, keys[l], vals[l], kvh)
					continue
				}
				scores := make([]float64, pos+1)
				maxS := math.Inf(-1)
				for p := 0; p <= pos; p++ {
					for i := range hd {
						scores[p] += qh[i] * keys[l][p][kvh*hd+i]
					}
					scores[p] *= float64(c.AttnScale)
					maxS = max(maxS, scores[p])
				}
				var sum float64
				for p := range scores {
					scores[p] = math.Exp(scores[p] - maxS)
					sum += scores[p]
				}
				for p := range scores {
					for i := range hd {
						attn[h*hd+i] += scores[p] / sum * vals[l][p][kvh*hd+i]
					}
				}
			}
			o := rf.linear(L.O, attn)
			for i := range x {
				x[i] += o[i]
				if L.OBias != nil {
					x[i] += float64(L.OBias[i])
				}
			}
			xn = rf.rmsNorm(x, L.FFNNorm)
			g, u := rf.linear(L.Gate, xn), rf.linear(L.Up, xn)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := rf.linear(L.Down, g)
			for i := range x {
				x[i] += d[i]
			}
		}
		out = append(out, rf.linear(w.Output, rf.rmsNorm(x, w.OutputNorm)))
	}
	return out
}

// attendF16 is one head of llama.cpp's F16 flash attention for one query:
// an online softmax whose weighted sum of values is rounded to F16 after
// every step.
func (rf *reference) attendF16(out, q []float64, keys, vals [][]float64, kvh int) {
	hd := rf.cfg.HeadDimK
	acc := make([]float64, hd)
	m, sum := math.Inf(-1), 0.0
	for p := range keys {
		var s float64
		for i := range hd {
			s += q[i] * keys[p][kvh*hd+i]
		}
		s *= float64(rf.cfg.AttnScale)
		ms, vs := 1.0, 1.0
		if s > m {
			ms, m = math.Exp(m-s), s
			for i := range acc {
				acc[i] = float64(round16(float32(acc[i] * ms)))
			}
		} else {
			vs = math.Exp(s - m)
		}
		for i := range acc {
			acc[i] = float64(round16(float32(acc[i] + vals[p][kvh*hd+i]*vs)))
		}
		sum = sum*ms + vs
	}
	for i := range out {
		out[i] = acc[i] / sum
	}
}
