package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refAttendOnlineF16 and refAttendF32 are attention one query head at a
// time, as the engine computed it before work items took GQA groups and
// blocks of positions: the reference the grouped and blockwise code must
// reproduce exactly with the portable kernels.
func refAttendOnlineF16(c *Cache, out []float32, l, kvh, n int, q []float32, scale float32) {
	qh, acc := make([]float32, c.dimK), make([]float32, c.dimV)
	for i, v := range q {
		qh[i] = round16(v)
	}
	keys := c.k16[l][kvh*c.capacity*c.dimK:]
	vals := c.v16[l][kvh*c.capacity*c.dimV:]
	m := float32(math.Inf(-1))
	var sum float32
	for pos := range n {
		var dot float32
		for i, k := range keys[pos*c.dimK : (pos+1)*c.dimK] {
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
	for i := range out {
		out[i] = acc[i] * (1 / sum)
	}
}

func refAttendF32(c *Cache, out []float32, l, kvh, n int, q []float32, scale float32) {
	key := func(pos, i int) float32 {
		if c.typ == KVF16 {
			return f16ToF32(c.k16[l][(kvh*c.capacity+pos)*c.dimK+i])
		}
		return c.k32[l][(kvh*c.capacity+pos)*c.dimK+i]
	}
	val := func(pos, i int) float32 {
		if c.typ == KVF16 {
			return f16ToF32(c.v16[l][(kvh*c.capacity+pos)*c.dimV+i])
		}
		return c.v32[l][(kvh*c.capacity+pos)*c.dimV+i]
	}
	scores := make([]float32, n)
	m := float32(math.Inf(-1))
	for pos := range n {
		var dot float32
		for i := range c.dimK {
			dot += q[i] * key(pos, i)
		}
		scores[pos] = dot * scale
		m = max(m, scores[pos])
	}
	var sum float32
	for pos, sc := range scores {
		p := expf(sc - m)
		scores[pos] = p
		sum += p
	}
	clear(out)
	for pos, p := range scores {
		for i := range out {
			out[i] += p * val(pos, i)
		}
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
	}
}

// TestAttentionWorkItems runs a layer's attention through the work items
// (GQA groups, blocks of positions, key blocks) and compares every head
// with the one-head reference: bit-identical with the portable kernels,
// within reassociation error with the assembly.
func TestAttentionWorkItems(t *testing.T) {
	shapes := []struct{ heads, kvHeads, dim int }{
		{14, 2, 64}, {8, 2, 128}, {4, 4, 16}, {6, 2, 6}, {4, 1, 20},
	}
	cases := []struct {
		start, rows int
		f32         bool
	}{
		{0, 1, false}, {37, 1, false}, {130, 3, false},
		{0, 1, true}, {0, 70, true}, {37, 70, true}, {5, 129, true}, {200, 9, true},
	}
	for _, sh := range shapes {
		for _, typ := range []KVType{KVF16, KVF32} {
			for _, cs := range cases {
				if typ == KVF32 && !cs.f32 {
					continue
				}
				for _, fast := range []bool{false, true} {
					if fast && !haveAsm {
						continue
					}
					name := fmt.Sprintf("h%d_kv%d_d%d/%s/start%d_rows%d_f32=%v/fast=%v", sh.heads, sh.kvHeads, sh.dim, typ, cs.start, cs.rows, cs.f32, fast)
					t.Run(name, func(t *testing.T) {
						checkAttention(t, sh.heads, sh.kvHeads, sh.dim, typ, cs.start, cs.rows, cs.f32, fast)
					})
				}
			}
		}
	}
}

func checkAttention(t *testing.T, heads, kvHeads, dim int, typ KVType, start, nrows int, f32, fast bool) {
	v := variant{name: "attn", arch: ArchLlama, embd: 16, heads: heads, kvHeads: kvHeads, headDim: dim, ff: 16, vocab: 8, layers: 1, base: 10000}
	m := newModel(t, v)
	cfg := &m.cfg
	n := start + nrows
	ws, err := m.NewWorkspace(nrows)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.NewCache(n+3, typ)
	if err != nil {
		t.Fatal(err)
	}
	ws.fitCache(c.capacity)
	r := rand.New(rand.NewPCG(uint64(dim), uint64(n)))
	gauss := func(x []float32, std float64) {
		for i := range x {
			x[i] = float32(std * r.NormFloat64())
		}
	}
	k, vv := make([]float32, cfg.KDim()), make([]float32, cfg.VDim())
	for pos := range n {
		gauss(k, 1)
		gauss(vv, 1)
		c.store(0, pos, k, vv)
	}
	gauss(ws.q[:nrows*cfg.QDim()], 3)
	rows := ws.rows[:nrows]
	for i := range rows {
		rows[i] = row{cache: c, pos: start + i, f32: f32}
	}
	j := &attentionJob{ws: ws, cfg: cfg, layer: 0, rows: rows, items: ws.planAttention(rows), fast: fast}
	m.pool.Run(len(j.items), j)

	want := make([]float32, dim)
	tol := 0.0
	if fast {
		tol = 2e-5
		if !f32 {
			tol = 4e-3 // an F16 rounding of the accumulator may flip
		}
	}
	g := heads / kvHeads
	for i := range nrows {
		for h := range heads {
			q := ws.q[i*cfg.QDim()+h*dim:][:dim]
			got := ws.attn[i*cfg.AttnDim()+h*dim:][:dim]
			if f32 {
				refAttendF32(c, want, 0, h/g, start+i+1, q, cfg.AttnScale)
			} else {
				refAttendOnlineF16(c, want, 0, h/g, start+i+1, q, cfg.AttnScale)
			}
			for e := range want {
				if d := math.Abs(float64(got[e] - want[e])); d > tol || got[e] != got[e] {
					t.Fatalf("row %d head %d [%d]: got %v, want %v (|Δ| %.3g > %.3g)", i, h, e, got[e], want[e], d, tol)
				}
			}
		}
	}
}

// TestPlanAttention checks that the work items cover every (row, head)
// once: F16 rows one item per kv head, F32 runs split where the sequence
// or the positions change.
func TestPlanAttention(t *testing.T) {
	m := newModel(t, variant{name: "plan", arch: ArchLlama, embd: 16, heads: 4, kvHeads: 2, headDim: 8, ff: 16, vocab: 8, layers: 1, base: 10000})
	ws, _ := m.NewWorkspace(40)
	a, _ := m.NewCache(64, KVF16)
	b, _ := m.NewCache(64, KVF32)
	rows := ws.rows[:0]
	for i := range 20 {
		rows = append(rows, row{cache: a, pos: i, f32: true})
	}
	rows = append(rows, row{cache: b, pos: 7, f32: true}, row{cache: a, pos: 30}, row{cache: a, pos: 40, f32: true}, row{cache: a, pos: 41, f32: true})
	items := ws.planAttention(rows)
	seen := make(map[[2]int]int)
	for _, it := range items {
		first := rows[it.first]
		for i := int(it.first); i < int(it.first+it.n); i++ {
			if rows[i].cache != first.cache || rows[i].pos != first.pos+i-int(it.first) || rows[i].f32 != first.f32 {
				t.Fatalf("item %+v mixes rows", it)
			}
			seen[[2]int{i, int(it.kvh)}]++
		}
	}
	for i := range rows {
		for kvh := range 2 {
			if seen[[2]int{i, kvh}] != 1 {
				t.Fatalf("row %d kv head %d is in %d items", i, kvh, seen[[2]int{i, kvh}])
			}
		}
	}
}
