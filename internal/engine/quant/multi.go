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
	types, nt := vecDotTypes(ms)
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

// vecDotTypes lists the distinct vec-dot types of ms, in order of first
// use. There are fewer vec-dot types than maxVecTypes.
func vecDotTypes(ms []*Matrix) (types [maxVecTypes]Type, nt int) {
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
	return types, nt
}

// MatMuls computes dsts[i] = ms[i]·x for matrices that share n
// activation rows: x holds n rows of Cols and dsts[i] receives n rows of
// ms[i].Rows(), both row-major. It is MatVecs for prompt processing: x is
// converted once per vec-dot type (not once per matrix), and the row
// tiles of all the matrices are split among the goroutines in a single
// hand-over. The products are bit for bit those of separate MatMul
// calls. The matrices may use other pools; the work runs on p. Lengths
// are checked as in Matrix.MatMul.
func (p *Pool) MatMuls(dsts [][]float32, ms []*Matrix, x []float32, n int) {
	if len(dsts) != len(ms) {
		panic(fmt.Sprintf("quant: MatMuls of %d matrices into %d outputs", len(ms), len(dsts)))
	}
	if n < 0 {
		panic(fmt.Sprintf("quant: MatMuls of %d rows", n))
	}
	rows, tiles, bytes := 0, 0, 0
	for i, m := range ms {
		m.checkLen("MatMuls", "x", len(x), n*m.cols)
		m.checkLen("MatMuls", "dst", len(dsts[i]), n*m.rows)
		rows += m.rows
		tiles += (m.rows + matMulTile - 1) / matMulTile
		bytes += m.rows * m.rowBytes
	}
	if n == 0 || rows == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	types, nt := vecDotTypes(ms)
	vecs := p.vectors(nt * n)
	p.quantizeRows(x, n, len(x)/n, types, nt, vecs)
	p.jobMMs = matMulsJob{ms: ms, dsts: dsts, vecs: vecs, types: types, n: n}
	// The grain of MatMul, for all the rows together, in tiles.
	grain := max(p.grainFor(rows, bytes/rows*n), matMulTile)
	p.dispatch(tiles, (grain+matMulTile-1)/matMulTile, &p.jobMMs)
	p.jobMMs = matMulsJob{}
}

// matMulsJob is MatMuls' work: item t is the t-th tile of matMulTile
// weight rows, the matrices' tiles numbered in order (each matrix's
// last tile may be short).
type matMulsJob struct {
	ms    []*Matrix
	dsts  [][]float32
	vecs  []Vector // n rows per type of types, in that order
	types [maxVecTypes]Type
	n     int
}

func (j *matMulsJob) run(_, lo, hi int) {
	base := 0
	for i, m := range j.ms {
		end := base + (m.rows+matMulTile-1)/matMulTile
		if lo < end && hi > base {
			k := 0
			for j.types[k] != m.k.vecDotType {
				k++
			}
			from, to := max(lo, base)-base, min(hi, end)-base
			m.mulRows(j.dsts[i], j.vecs[k*j.n:(k+1)*j.n], from*matMulTile, min(to*matMulTile, m.rows))
		}
		base = end
	}
}
