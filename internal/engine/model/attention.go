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

// Attention is divided into work items of one kv head: all the query
// heads that share it (a GQA group), so that each key and value row read
// serves the whole group. On the F32 path an item also takes several
// consecutive positions of one sequence, up to about blockQueries query
// rows (heads × positions), and reads the keys and values keyBlock rows
// at a time, widened to F32 once for all of them.
const (
	blockQueries = 32
	keyBlock     = 64
)

// blockPositions is how many positions an F32 work item takes with group
// size g.
func blockPositions(g int) int { return max(1, (blockQueries+g-1)/g) }

// headScratch is one worker's scratch for attention.
type headScratch struct {
	q      []float32 // group×HeadDimK: the group's queries, rounded to F16
	acc    []float32 // group×HeadDimV: accumulators, F16 values held as float32
	m, sum []float32 // per query row of an item: softmax maximum and sum
	dots   []float32 // group: one position's scores
	vs     []float32 // group: one position's value weights
	kf, vf []float32 // keyBlock×HeadDimK, ×HeadDimV: keys and values as F32
	scores []float32 // block rows × cache capacity: scores, then weights
}

func newHeadScratch(c *Config) headScratch {
	g := c.Heads / c.KVHeads
	rows := g * blockPositions(g)
	return headScratch{
		q: make([]float32, g*c.HeadDimK), acc: make([]float32, g*c.HeadDimV),
		m: make([]float32, rows), sum: make([]float32, rows),
		dots: make([]float32, g), vs: make([]float32, g),
		kf: make([]float32, keyBlock*c.HeadDimK), vf: make([]float32, keyBlock*c.HeadDimV),
	}
}

// attnItem is one work item: rows [first, first+n) of the pass, kv head
// kvh.
type attnItem struct {
	first, n, kvh int32
}

// attentionJob is one layer's attention over its work items.
type attentionJob struct {
	ws    *Workspace
	cfg   *Config
	layer int
	rows  []row
	items []attnItem
	fast  bool // use the assembly kernels
}

// planAttention lists the work items of rows in ws.items: one per row
// and kv head on the F16 path; on the F32 path, per run of consecutive
// positions of one sequence, one per block of positions and kv head, the
// latest (costliest) blocks first, so that the pool's workers finish
// together.
func (ws *Workspace) planAttention(rows []row) []attnItem {
	cfg := &ws.m.cfg
	items := ws.items[:0]
	bp := blockPositions(cfg.Heads / cfg.KVHeads)
	for i := 0; i < len(rows); {
		r := &rows[i]
		if !r.f32 {
			for kvh := range cfg.KVHeads {
				items = append(items, attnItem{first: int32(i), n: 1, kvh: int32(kvh)})
			}
			i++
			continue
		}
		end := i + 1
		for end < len(rows) && rows[end].f32 && rows[end].cache == r.cache && rows[end].pos == rows[end-1].pos+1 {
			end++
		}
		for hi := end; hi > i; hi -= bp {
			lo := max(i, hi-bp)
			for kvh := range cfg.KVHeads {
				items = append(items, attnItem{first: int32(lo), n: int32(hi - lo), kvh: int32(kvh)})
			}
		}
		i = end
	}
	return items
}

func (j *attentionJob) Do(worker, item int) {
	it := j.items[item]
	s := &j.ws.heads[worker]
	if j.rows[it.first].f32 {
		j.attendF32(s, int(it.first), int(it.n), int(it.kvh))
	} else {
		j.attendOnlineF16(s, int(it.first), int(it.kvh))
	}
}

// attendOnlineF16 computes the attention of row i's query heads of kv
// head kvh over the row's F16 cache, positions [0, pos]. Each head's
// arithmetic is llama.cpp's F16 vector kernel; the group's heads share
// every key and value row read.
func (j *attentionJob) attendOnlineF16(s *headScratch, i, kvh int) {
	cfg := j.cfg
	r := &j.rows[i]
	c, l, n := r.cache, j.layer, r.pos+1
	g, dk, dv := cfg.Heads/cfg.KVHeads, c.dimK, c.dimV
	q := j.ws.q[i*cfg.QDim()+kvh*g*dk:][:g*dk]
	out := j.ws.attn[i*cfg.AttnDim()+kvh*g*dv:][:g*dv]
	qh, acc := s.q[:g*dk], s.acc[:g*dv]
	for i, v := range q {
		qh[i] = round16(v)
	}
	clear(acc)
	m, sum, dots, vs := s.m[:g], s.sum[:g], s.dots[:g], s.vs[:g]
	for h := range g {
		m[h], sum[h] = float32(math.Inf(-1)), 0
	}
	keys := c.k16[l][kvh*c.capacity*dk:][:n*dk]
	vals := c.v16[l][kvh*c.capacity*dv:][:n*dv]
	fast := j.fast
	for pos := range n {
		dotsF16(fast, dots, qh, keys[pos*dk:(pos+1)*dk], cfg.AttnScale)
		for h, dot := range dots {
			ms, v := float32(1), float32(1)
			if dot > m[h] {
				ms = expf(m[h] - dot)
				m[h] = dot
				a := acc[h*dv : (h+1)*dv]
				for i := range a {
					a[i] = round16(a[i] * ms)
				}
			} else {
				v = expf(dot - m[h])
			}
			vs[h] = v
			sum[h] = sum[h]*ms + v
		}
		madF16s(fast, acc, vals[pos*dv:(pos+1)*dv], vs)
	}
	for h := range g {
		inv := 1 / sum[h]
		for i := h * dv; i < (h+1)*dv; i++ {
			out[i] = acc[i] * inv
		}
	}
}

// attendF32 computes the attention of rows [first, first+nr) — one
// sequence, consecutive positions — for the query heads of kv head kvh,
// with F32 arithmetic: scores, a two-pass softmax and an F32 weighted sum
// of values. Query row t of the block is head kvh·g + t%g of row
// first + t/g; row at position p attends to positions [0, p]. Each query
// row's numbers are those of taking it alone, except for the order of
// the additions inside the SIMD kernels.
func (j *attentionJob) attendF32(s *headScratch, first, nr, kvh int) {
	cfg := j.cfg
	c, l, fast := j.rows[first].cache, j.layer, j.fast
	g, dk, dv := cfg.Heads/cfg.KVHeads, c.dimK, c.dimV
	p0 := j.rows[first].pos
	nmax := p0 + nr // keys of the block's last row
	nt := nr * g
	query := func(t int) []float32 {
		return j.ws.q[(first+t/g)*cfg.QDim()+(kvh*g+t%g)*dk:][:dk]
	}
	output := func(t int) []float32 {
		return j.ws.attn[(first+t/g)*cfg.AttnDim()+(kvh*g+t%g)*dv:][:dv]
	}
	scores := func(t int) []float32 { return s.scores[t*nmax : t*nmax+p0+t/g+1] }
	keyRows := func(j0, kb int) []float32 {
		o := (kvh*c.capacity + j0) * dk
		if c.typ == KVF16 {
			kf := s.kf[:kb*dk]
			widenF16(fast, kf, c.k16[l][o:o+kb*dk])
			return kf
		}
		return c.k32[l][o : o+kb*dk]
	}
	valRows := func(j0, kb int) []float32 {
		o := (kvh*c.capacity + j0) * dv
		if c.typ == KVF16 {
			vf := s.vf[:kb*dv]
			widenF16(fast, vf, c.v16[l][o:o+kb*dv])
			return vf
		}
		return c.v32[l][o : o+kb*dv]
	}

	m, sum := s.m[:nt], s.sum[:nt]
	for t := range m {
		m[t] = float32(math.Inf(-1))
	}
	for j0 := 0; j0 < nmax; j0 += keyBlock {
		kb := min(keyBlock, nmax-j0)
		kf := keyRows(j0, kb)
		for t := range nt {
			sc := scores(t)
			if j0 >= len(sc) {
				continue
			}
			cnt := min(kb, len(sc)-j0)
			m[t] = max(m[t], scoresF32(fast, sc[j0:j0+cnt], query(t), kf[:cnt*dk], cfg.AttnScale))
		}
	}
	for t := range nt {
		sum[t] = expSum(fast, scores(t), m[t])
		clear(output(t))
	}
	for j0 := 0; j0 < nmax; j0 += keyBlock {
		kb := min(keyBlock, nmax-j0)
		vf := valRows(j0, kb)
		for t := range nt {
			sc := scores(t)
			if j0 >= len(sc) {
				continue
			}
			cnt := min(kb, len(sc)-j0)
			accPV(fast, output(t), sc[j0:j0+cnt], vf[:cnt*dv])
		}
	}
	for t := range nt {
		out := output(t)
		inv := 1 / sum[t]
		for i := range out {
			out[i] *= inv
		}
	}
}
