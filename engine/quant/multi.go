package quant

import "fmt"

// MatVecs computes dsts[i] = ms[i]·x for matrices that share the input x
// (a layer's q, k and v projections, or its gate and up projections) in a
// single hand-over to the pool: x is converted once per vec-dot type and
// all rows are split among the goroutines together, which saves the
// start-up and tail of separate products. The matrices may use other
// pools; the work runs on p. Lengths are checked as in Matrix.MatVec.
func (p *Pool) MatVecs(dsts [][]float32, ms []*Matrix, x []float32) {
	if len(dsts) != len(ms) {
		panic(fmt.Sprintf("quant: MatVecs of %d matrices into %d outputs", len(ms), len(dsts)))
	}
	rows, bytes := 0, 0
	for i, m := range ms {
		m.checkLen("MatVecs", "x", len(x), m.cols)
		m.checkLen("MatVecs", "dst", len(dsts[i]), m.rows)
		rows += m.rows
		bytes += m.rows * m.rowBytes
	}
	if rows == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// One converted vector per distinct vec-dot type (at most a few).
	var types [8]Type
	nt := 0
	for _, m := range ms {
		t := m.k.vecDotType
		seen := false
		for _, u := range types[:nt] {
			seen = seen || u == t
		}
		if !seen && nt < len(types) {
			types[nt] = t
			nt++
		}
	}
	vecs := p.vectors(nt)
	for i, t := range types[:nt] {
		_ = vecs[i].Quantize(t, x) // cannot fail: NewMatrix checked Cols
	}
	p.jobMulti = multiJob{ms: ms, dsts: dsts, vecs: vecs}
	p.dispatch(rows, p.grainFor(rows, bytes/rows), &p.jobMulti)
	p.jobMulti = multiJob{}
}

type multiJob struct {
	ms   []*Matrix
	dsts [][]float32
	vecs []Vector
}

// run computes the rows [lo, hi) of the matrices stacked in order.
func (j *multiJob) run(_, lo, hi int) {
	base := 0
	for i, m := range j.ms {
		end := base + m.rows
		if lo < end && hi > base {
			var v *Vector
			for k := range j.vecs {
				if j.vecs[k].typ == m.k.vecDotType {
					v = &j.vecs[k]
					break
				}
			}
			from, to := max(lo, base)-base, min(hi, end)-base
			dst, dot := j.dsts[i], m.k.dot
			for r := from; r < to; r++ {
				dst[r] = dot(m.RawRow(r), v)
			}
		}
		base = end
	}
}
