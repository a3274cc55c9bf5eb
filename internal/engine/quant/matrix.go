package quant

import "fmt"

// Matrix is a weight matrix as ggml stores it: rows of cols elements
// each, row after row, in its type's block layout (a GGUF tensor of shape
// [cols, rows]). The data stays as it is, typically a slice of a
// memory-mapped file. A Matrix is immutable and safe for concurrent use.
//
// The length checks of the product methods panic, like a slice index out
// of range: they are programming errors, not input errors.
type Matrix struct {
	typ      Type
	rows     int
	cols     int
	rowBytes int
	data     []byte
	k        *kernel
	pool     *Pool
}

// NewMatrix wraps data, which must hold exactly rows rows of cols elements
// of type t. Products run on pool, or on SharedPool if pool is nil.
func NewMatrix(t Type, rows, cols int, data []byte, pool *Pool) (*Matrix, error) {
	k, err := kernelFor(t)
	if err != nil {
		return nil, err
	}
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("%w: matrix of %d x %d", ErrLength, rows, cols)
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	if rows > 0 && rb > maxInt/rows || rb*rows != len(data) {
		return nil, fmt.Errorf("%w: %d rows of %d %s elements need %d bytes each, data has %d in all", ErrLength, rows, cols, t, rb, len(data))
	}
	if pool == nil {
		pool = SharedPool()
	}
	return &Matrix{typ: t, rows: rows, cols: cols, rowBytes: rb, data: data, k: k, pool: pool}, nil
}

// Type is the element type.
func (m *Matrix) Type() Type { return m.typ }

// Rows is the number of rows: the output length of a product.
func (m *Matrix) Rows() int { return m.rows }

// Cols is the number of columns: the input length of a product.
func (m *Matrix) Cols() int { return m.cols }

// In is Cols: the length of the vectors the matrix multiplies.
func (m *Matrix) In() int { return m.cols }

// Out is Rows: the length of the products.
func (m *Matrix) Out() int { return m.rows }

// RowBytes is the size of one row in bytes.
func (m *Matrix) RowBytes() int { return m.rowBytes }

// Data is the raw matrix (shared: do not modify).
func (m *Matrix) Data() []byte { return m.data }

// VecDotType is the type activations are converted to for the products.
func (m *Matrix) VecDotType() Type { return m.k.vecDotType }

// RawRow returns row i's bytes (shared: do not modify).
func (m *Matrix) RawRow(i int) []byte {
	return m.data[i*m.rowBytes : (i+1)*m.rowBytes : (i+1)*m.rowBytes]
}

// Row dequantises row i into dst, which must have Cols elements: the
// lookup of an embedding table.
func (m *Matrix) Row(dst []float32, i int) {
	if i < 0 || i >= m.rows {
		panic(fmt.Sprintf("quant: row %d of a matrix of %d rows", i, m.rows))
	}
	m.checkLen("Row", "dst", len(dst), m.cols)
	m.k.dequantize(dst, m.RawRow(i))
}

// MatVec sets dst[r] to the dot product of row r with x, the way
// llama.cpp computes it: x is converted to VecDotType once, then each row
// takes an integer (or f16) dot product. len(x) must be Cols and len(dst)
// Rows.
func (m *Matrix) MatVec(dst, x []float32) {
	m.checkLen("MatVec", "x", len(x), m.cols)
	m.checkLen("MatVec", "dst", len(dst), m.rows)
	p := m.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	v := &p.vectors(1)[0]
	_ = v.Quantize(m.k.vecDotType, x) // cannot fail: NewMatrix checked Cols
	p.matVec(m, dst, v)
}

// MatVecVector is MatVec with x already converted, for several matrices
// that share an input: v must have type VecDotType and Cols elements.
func (m *Matrix) MatVecVector(dst []float32, v *Vector) {
	if v.typ != m.k.vecDotType {
		panic(fmt.Sprintf("quant: MatVecVector of a %s matrix with a %s vector, want %s", m.typ, v.typ, m.k.vecDotType))
	}
	m.checkLen("MatVecVector", "v", v.n, m.cols)
	m.checkLen("MatVecVector", "dst", len(dst), m.rows)
	p := m.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.matVec(m, dst, v)
}

func (p *Pool) matVec(m *Matrix, dst []float32, v *Vector) {
	p.jobMV = matVecJob{m: m, dst: dst, v: v}
	p.dispatch(m.rows, p.grainFor(m.rows, m.rowBytes), &p.jobMV)
	p.jobMV = matVecJob{}
}

type matVecJob struct {
	m   *Matrix
	dst []float32
	v   *Vector
}

func (j *matVecJob) run(_, lo, hi int) {
	m, dot := j.m, j.m.k.dot
	dst := j.dst[lo:hi]
	for r := range dst {
		dst[r] = dot(m.RawRow(lo+r), j.v)
	}
}

// MatMul applies the matrix to n activation rows at once (a prompt's
// tokens): x holds n rows of Cols, dst receives n rows of Rows, both
// row-major. Each activation row is converted once, and each chunk of
// weight rows is reused for all n rows while it is in cache.
func (m *Matrix) MatMul(dst, x []float32, n int) {
	if n < 0 {
		panic(fmt.Sprintf("quant: MatMul of %d rows", n))
	}
	m.checkLen("MatMul", "x", len(x), n*m.cols)
	m.checkLen("MatMul", "dst", len(dst), n*m.rows)
	if n == 0 {
		return
	}
	p := m.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	vecs := p.vectors(n)
	p.quantizeRows(x, n, m.cols, [maxVecTypes]Type{m.k.vecDotType}, 1, vecs)
	p.jobMM = matMulJob{m: m, dst: dst, vecs: vecs}
	grain := max(p.grainFor(m.rows, m.rowBytes*n), matMulTile)
	p.dispatch(m.rows, (grain+matMulTile-1)/matMulTile*matMulTile, &p.jobMM)
	p.jobMM = matMulJob{}
}

// matMulTile is the fewest weight rows a goroutine takes at a time in a
// matrix-matrix product, and matMulCols how many activation rows a tile
// meets while its weight rows stay in the first-level cache.
const (
	matMulTile = 16
	matMulCols = 64
)

type matMulJob struct {
	m    *Matrix
	dst  []float32
	vecs []Vector
}

func (j *matMulJob) run(_, lo, hi int) { j.m.mulRows(j.dst, j.vecs, lo, hi) }

// mulRows computes the products of the weight rows [lo, hi) with every
// vector of vecs into dst (len(vecs) rows of Rows), a tile of matMulTile
// rows at a time from lo.
func (m *Matrix) mulRows(dst []float32, vecs []Vector, lo, hi int) {
	for t := lo; t < hi; t += matMulTile {
		rows := min(matMulTile, hi-t)
		w := m.data[t*m.rowBytes : (t+rows)*m.rowBytes]
		for c := 0; c < len(vecs); c += matMulCols {
			vs := vecs[c:min(c+matMulCols, len(vecs))]
			out := dst[c*m.rows+t:]
			if m.k.tile != nil {
				m.k.tile(out, m.rows, w, m.rowBytes, rows, vs)
			} else {
				tileByDot(m.k.dot, out, m.rows, w, m.rowBytes, rows, vs)
			}
		}
	}
}

func (m *Matrix) checkLen(op, what string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("quant: %s of a %dx%d %s matrix: len(%s) = %d, want %d", op, m.rows, m.cols, m.typ, what, got, want))
	}
}
