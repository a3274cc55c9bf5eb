package model

import "math"

// Attention numerics follow llama.cpp's default CPU path, flash attention
// over an F16 cache (ggml_compute_forward_flash_attn_ext_f16):
//
//   - Few query rows of a sequence (decode, short prompts): the query is
//     rounded to F16 for q·k, softmax is online, and the weighted sum of
//     values is kept in an F16 accumulator, rounded after every position
//     (attendOnlineF16).
//   - Many query rows (llama.cpp's tiled path, from 64 rows of one
//     sequence in a pass) or an F32 cache: the query stays F32, keys and
//     values are widened to F32, and the sum is F32 (attendF32).
//
// Either way the keys and values themselves were rounded to the cache
// type when stored.
const tiledMinRows = 64

// headScratch is one worker's scratch for attention.
type headScratch struct {
	q      []float32 // the query, rounded to F16
	acc    []float32 // the accumulator, F16 values held as float32
	scores []float32 // one score per cached position
}

// attendOnlineF16 computes one head's attention output over positions
// [0, n) of kv head kvh in layer l of an F16 cache.
func (c *Cache) attendOnlineF16(out []float32, l, kvh, n int, q []float32, scale float32, s *headScratch) {
	qh, acc := s.q[:c.dimK], s.acc[:c.dimV]
	for i, v := range q {
		qh[i] = round16(v)
	}
	clear(acc)
	keys := c.k16[l][kvh*c.capacity*c.dimK:]
	vals := c.v16[l][kvh*c.capacity*c.dimV:]
	m := float32(math.Inf(-1))
	var sum float32
	for pos := range n {
		krow := keys[pos*c.dimK : (pos+1)*c.dimK]
		var dot float32
		for i, k := range krow {
			dot += qh[i] * f16ToF32(k)
		}
		dot *= scale

		ms, vs := float32(1), float32(1)
		if dot > m {
			ms = expf(m - dot)
			m = dot
			for i := range acc {
				acc[i] = round16(acc[i] * ms)
			}
		} else {
			vs = expf(dot - m)
		}
		madF16(acc, vals[pos*c.dimV:(pos+1)*c.dimV], vs)
		sum = sum*ms + vs
	}
	inv := 1 / sum
	for i := range out {
		out[i] = acc[i] * inv
	}
}

// attendF32 computes one head's attention output with F32 arithmetic:
// scores, a two-pass softmax and an F32 weighted sum of values.
func (c *Cache) attendF32(out []float32, l, kvh, n int, q []float32, scale float32, s *headScratch) {
	scores := s.scores[:n]
	m := float32(math.Inf(-1))
	if c.typ == KVF16 {
		keys := c.k16[l][kvh*c.capacity*c.dimK:]
		for pos := range n {
			var dot float32
			for i, k := range keys[pos*c.dimK : (pos+1)*c.dimK] {
				dot += q[i] * f16ToF32(k)
			}
			scores[pos] = dot * scale
			m = max(m, scores[pos])
		}
	} else {
		keys := c.k32[l][kvh*c.capacity*c.dimK:]
		for pos := range n {
			var dot float32
			for i, k := range keys[pos*c.dimK : (pos+1)*c.dimK] {
				dot += q[i] * k
			}
			scores[pos] = dot * scale
			m = max(m, scores[pos])
		}
	}
	var sum float32
	for pos, sc := range scores {
		p := expf(sc - m)
		scores[pos] = p
		sum += p
	}
	clear(out)
	if c.typ == KVF16 {
		vals := c.v16[l][kvh*c.capacity*c.dimV:]
		for pos, p := range scores {
			for i, v := range vals[pos*c.dimV : (pos+1)*c.dimV] {
				out[i] += p * f16ToF32(v)
			}
		}
	} else {
		vals := c.v32[l][kvh*c.capacity*c.dimV:]
		for pos, p := range scores {
			for i, v := range vals[pos*c.dimV : (pos+1)*c.dimV] {
				out[i] += p * v
			}
		}
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
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
