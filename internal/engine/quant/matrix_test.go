package quant

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func randomMatrix(t testing.TB, typ Type, rows, cols int, rng *rand.Rand, pool *Pool) *Matrix {
	t.Helper()
	rb, err := typ.RowBytes(cols)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, rows*rb)
	for r := 0; r < rows; r++ {
		if err := Quantize(typ, data[r*rb:(r+1)*rb], gaussRow(rng, cols, 0.05)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMatrix(typ, rows, cols, data, pool)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatVecAndMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pools := []*Pool{NewPool(1), NewPool(3)}
	for _, p := range pools {
		defer p.Close()
	}
	for _, typ := range testTypes {
		for _, shape := range [][2]int{{1, 256}, {7, 512}, {33, 256}, {257, 768}} {
			rows, cols := shape[0], shape[1]
			data := randomMatrix(t, typ, rows, cols, rng, nil).Data()
			x := gaussRow(rng, cols, 1)
			const n = 5
			xs := gaussRow(rng, n*cols, 1)
			for _, pool := range pools {
				t.Run(fmt.Sprintf("%d threads %s %dx%d", pool.Threads(), typ, rows, cols), func(t *testing.T) {
					m, err := NewMatrix(typ, rows, cols, data, pool)
					if err != nil {
						t.Fatal(err)
					}
					got := make([]float32, rows)
					m.MatVec(got, x)
					var v Vector
					if err := v.Quantize(m.VecDotType(), x); err != nil {
						t.Fatal(err)
					}
					for r := range got {
						want, err := VecDot(typ, m.RawRow(r), &v)
						if err != nil {
							t.Fatal(err)
						}
						if got[r] != want {
							t.Fatalf("row %d: MatVec %g, VecDot %g", r, got[r], want)
						}
					}
					mm := make([]float32, n*rows)
					m.MatMul(mm, xs, n)
					for c := 0; c < n; c++ {
						m.MatVec(got, xs[c*cols:(c+1)*cols])
						for r := range got {
							if mm[c*rows+r] != got[r] {
								t.Fatalf("MatMul row %d col %d = %g, MatVec %g", c, r, mm[c*rows+r], got[r])
							}
						}
					}
				})
			}
		}
	}
}

func TestMatVecVectorAndRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	q := randomMatrix(t, Q4_K, 64, 512, rng, nil)
	k := randomMatrix(t, Q6_K, 16, 512, rng, nil)
	x := gaussRow(rng, 512, 1)
	var v Vector
	if err := v.Quantize(q.VecDotType(), x); err != nil {
		t.Fatal(err)
	}
	a, b := make([]float32, 64), make([]float32, 64)
	q.MatVec(a, x)
	q.MatVecVector(b, &v)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("MatVecVector differs at %d", i)
		}
	}
	k.MatVecVector(b[:16], &v) // Q6_K shares Q8_K with Q4_K
	row := make([]float32, 512)
	want := make([]float32, 512)
	for _, i := range []int{0, 15} {
		k.Row(row, i)
		if err := Dequantize(Q6_K, want, k.RawRow(i)); err != nil {
			t.Fatal(err)
		}
		for j := range row {
			if row[j] != want[j] {
				t.Fatalf("Row(%d) differs at %d", i, j)
			}
		}
	}
	if q.In() != 512 || q.Out() != 64 || q.Type() != Q4_K || q.RowBytes() != 288 || len(q.Data()) != 64*288 {
		t.Error("accessors")
	}
}

func TestMatrixConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m := randomMatrix(t, Q8_0, 300, 512, rng, NewPool(2))
	x := gaussRow(rng, 512, 1)
	want := make([]float32, 300)
	m.MatVec(want, x)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, 300)
			for i := 0; i < 20; i++ {
				m.MatVec(got, x)
				for r := range got {
					if got[r] != want[r] {
						t.Errorf("concurrent MatVec differs at %d", r)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestMatrixNoAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	pool := NewPool(2)
	defer pool.Close()
	for _, typ := range []Type{Q8_0, Q4_K, F16} {
		m := randomMatrix(t, typ, 256, 512, rng, pool)
		x := gaussRow(rng, 4*512, 1)
		dst := make([]float32, 4*256)
		m.MatVec(dst[:256], x[:512])
		m.MatMul(dst, x, 4)
		if a := testing.AllocsPerRun(10, func() { m.MatVec(dst[:256], x[:512]) }); a != 0 {
			t.Errorf("%s MatVec allocates %v times", typ, a)
		}
		if a := testing.AllocsPerRun(10, func() { m.MatMul(dst, x, 4) }); a != 0 {
			t.Errorf("%s MatMul allocates %v times", typ, a)
		}
	}
}

func TestClosedPoolStillComputes(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	pool := NewPool(3)
	m := randomMatrix(t, Q5_0, 100, 256, rng, pool)
	x := gaussRow(rng, 256, 1)
	a, b := make([]float32, 100), make([]float32, 100)
	m.MatVec(a, x)
	pool.Close()
	pool.Close()
	m.MatVec(b, x)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("closed pool computes differently")
		}
	}
	if pool.Threads() != 3 {
		t.Errorf("Threads = %d", pool.Threads())
	}
}

func TestNewMatrixRejects(t *testing.T) {
	for _, tc := range []struct {
		name       string
		typ        Type
		rows, cols int
		data       int
		want       error
	}{
		{"short data", Q8_0, 2, 32, 67, ErrLength},
		{"long data", Q8_0, 2, 32, 69, ErrLength},
		{"partial block", Q4_K, 1, 100, 144, ErrLength},
		{"negative rows", F32, -1, 4, 0, ErrLength},
		{"unsupported", IQ2_XS, 1, 256, 74, ErrUnsupported},
		{"unknown", Type(99), 1, 1, 1, ErrUnknownType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMatrix(tc.typ, tc.rows, tc.cols, make([]byte, tc.data), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMatrixMisuseNamesTheProblem(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	m := randomMatrix(t, Q8_0, 4, 64, rng, nil)
	var v Vector
	v.Quantize(Q8_K, make([]float32, 256))
	for _, tc := range []struct {
		name string
		call func()
		text string
	}{
		{"short x", func() { m.MatVec(make([]float32, 4), make([]float32, 32)) }, "len(x) = 32, want 64"},
		{"short dst", func() { m.MatVec(make([]float32, 3), make([]float32, 64)) }, "len(dst) = 3, want 4"},
		{"matmul x", func() { m.MatMul(make([]float32, 8), make([]float32, 64), 2) }, "len(x) = 64, want 128"},
		{"row index", func() { m.Row(make([]float32, 64), 4) }, "row 4 of a matrix of 4 rows"},
		{"vector type", func() { m.MatVecVector(make([]float32, 4), &v) }, "with a q8_K vector, want q8_0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.Contains(s, tc.text) {
					t.Fatalf("panic %v, want one mentioning %q", r, tc.text)
				}
			}()
			tc.call()
		})
	}
}

// BenchmarkMatVec multiplies a 896x4864 matrix (Qwen2.5-0.5B's ffn_down)
// with a vector; the MB/s figure is weight bytes streamed per second.
func BenchmarkMatVec(b *testing.B) {
	const rows, cols = 896, 4864
	for _, threads := range []int{1, 0} {
		pool := NewPool(threads)
		for _, typ := range testTypes {
			name := fmt.Sprintf("%s/threads=%d", typ, pool.Threads())
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				m := randomMatrix(b, typ, rows, cols, rng, pool)
				x := gaussRow(rng, cols, 1)
				dst := make([]float32, rows)
				b.SetBytes(int64(len(m.Data())))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					m.MatVec(dst, x)
				}
			})
		}
		pool.Close()
	}
}

// BenchmarkMatMul is a prefill step: 32 activation rows at once.
func BenchmarkMatMul(b *testing.B) {
	const rows, cols, n = 896, 4864, 32
	pool := NewPool(0)
	defer pool.Close()
	for _, typ := range []Type{Q8_0, Q4_0, Q4_K, Q6_K, F16} {
		b.Run(typ.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			m := randomMatrix(b, typ, rows, cols, rng, pool)
			x := gaussRow(rng, n*cols, 1)
			dst := make([]float32, n*rows)
			b.SetBytes(int64(len(m.Data())) * n)
			b.ResetTimer()
			for b.Loop() {
				m.MatMul(dst, x, n)
			}
		})
	}
}

func TestMatVecs(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	pool := NewPool(2)
	defer pool.Close()
	q := randomMatrix(t, Q4_K, 64, 512, rng, nil)
	k := randomMatrix(t, Q6_K, 16, 512, rng, nil)
	v := randomMatrix(t, Q8_0, 16, 512, rng, nil)
	f := randomMatrix(t, F16, 3, 512, rng, nil)
	ms := []*Matrix{q, k, v, f}
	x := gaussRow(rng, 512, 1)
	dsts := [][]float32{make([]float32, 64), make([]float32, 16), make([]float32, 16), make([]float32, 3)}
	pool.MatVecs(dsts, ms, x)
	for i, m := range ms {
		want := make([]float32, m.Rows())
		m.MatVec(want, x)
		for r := range want {
			if dsts[i][r] != want[r] {
				t.Fatalf("matrix %d row %d: %g, MatVec %g", i, r, dsts[i][r], want[r])
			}
		}
	}
	if a := testing.AllocsPerRun(10, func() { pool.MatVecs(dsts, ms, x) }); a != 0 {
		t.Errorf("MatVecs allocates %v times", a)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "len(dst) = 3, want 16") {
				t.Errorf("panic %v", r)
			}
		}()
		pool.MatVecs([][]float32{dsts[0], dsts[3]}, ms[:2], x)
	}()
}

// BenchmarkDispatch is the fixed cost of one product: a matrix small
// enough that handing work to the helpers dominates.
func BenchmarkDispatch(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			pool := NewPool(threads)
			defer pool.Close()
			rng := rand.New(rand.NewPCG(1, 1))
			m := randomMatrix(b, Q8_0, 256, 256, rng, pool)
			x := gaussRow(rng, 256, 1)
			dst := make([]float32, 256)
			for b.Loop() {
				m.MatVec(dst, x)
			}
		})
	}
}

// TestMatMuls checks that the fused product gives bit for bit the
// products of separate MatMul calls, for matrices of several vec-dot
// types (Q8_0, Q8_1, Q8_K, F16, F32 activations), row counts that end in
// short tiles, numbers of activation rows below and above matMulCols, on
// pools of one and three goroutines and in every tier; and that it does
// not allocate once it has seen its sizes.
func TestMatMuls(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const cols = 512
	var ms []*Matrix
	for i, typ := range []Type{Q4_K, Q6_K, Q8_0, Q4_1, F16, F32, Q5_0, Q8_0} {
		ms = append(ms, randomMatrix(t, typ, []int{64, 16, 37, 9, 3, 50, 1, 130}[i], cols, rng, nil))
	}
	for _, tier := range KernelTiers() {
		withTier(t, tier, func() {
			for _, threads := range []int{1, 3} {
				pool := NewPool(threads)
				defer pool.Close()
				for _, n := range []int{0, 1, 2, 5, 70} {
					for _, sel := range [][]int{{0, 1, 2}, {2, 7}, {3}, {0, 1, 2, 3, 4, 5, 6, 7}} {
						x := gaussRow(rng, n*cols, 1)
						mm := make([]*Matrix, len(sel))
						dsts := make([][]float32, len(sel))
						for i, s := range sel {
							mm[i] = ms[s]
							dsts[i] = make([]float32, n*ms[s].Rows())
							for j := range dsts[i] {
								dsts[i][j] = float32(j) // overwritten
							}
						}
						pool.MatMuls(dsts, mm, x, n)
						for i, m := range mm {
							want := make([]float32, n*m.Rows())
							m.MatMul(want, x, n)
							for j := range want {
								if math.Float32bits(dsts[i][j]) != math.Float32bits(want[j]) {
									t.Fatalf("%s, %d threads, n=%d, matrices %v: matrix %d (%s) element %d = %g, MatMul %g", tier, threads, n, sel, i, m.Type(), j, dsts[i][j], want[j])
								}
							}
						}
						if n == 5 && len(sel) == 8 {
							if a := testing.AllocsPerRun(5, func() { pool.MatMuls(dsts, mm, x, n) }); a != 0 {
								t.Errorf("MatMuls allocates %v times", a)
							}
						}
					}
				}
			}
		})
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "len(dst) = 37, want 32") {
				t.Errorf("panic %v", r)
			}
		}()
		SharedPool().MatMuls([][]float32{make([]float32, 128), make([]float32, 37)}, ms[:2], make([]float32, 2*cols), 2)
	}()
}
