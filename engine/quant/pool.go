package quant

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs the products of matrices on a fixed set of goroutines: the
// caller plus Threads()-1 helpers that live as long as the pool. Handing
// work over costs one channel send per helper and allocates nothing; the
// rows are split into chunks that the goroutines take in turn, so a slow
// core does not hold the others back. One product runs at a time: a Pool
// is safe for concurrent use, and concurrent calls queue.
type Pool struct {
	mu      sync.Mutex
	threads int
	wake    []chan struct{}
	done    sync.WaitGroup
	closed  bool

	// The running job, set under mu before the helpers wake.
	job   task
	n     int
	grain int
	next  atomic.Int64

	// Scratch reused by every call, so products stop allocating once
	// they have seen their sizes.
	vecs  []Vector
	jobMV matVecJob
	jobMM matMulJob
	jobQ  quantizeJob
	// jobMulti is MatVecs' job.
	jobMulti multiJob
}

// task is work over items [0, n) split into ranges.
type task interface {
	run(lo, hi int)
}

// NewPool starts a pool of threads goroutines in all (the caller counts
// as one); threads <= 0 means GOMAXPROCS.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads}
	for range threads - 1 {
		ch := make(chan struct{}, 1)
		p.wake = append(p.wake, ch)
		go p.helper(ch)
	}
	return p
}

var sharedPool = sync.OnceValue(func() *Pool { return NewPool(0) })

// SharedPool is the pool of matrices made without one: GOMAXPROCS
// goroutines, never closed.
func SharedPool() *Pool { return sharedPool() }

// Threads is the number of goroutines products run on.
func (p *Pool) Threads() int { return p.threads }

// Close stops the helpers; later products run on the caller alone.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.wake {
		close(ch)
	}
	p.wake = nil
}

func (p *Pool) helper(wake chan struct{}) {
	for range wake {
		p.work()
		p.done.Done()
	}
}

func (p *Pool) work() {
	for {
		lo := int(p.next.Add(1)-1) * p.grain
		if lo >= p.n {
			return
		}
		p.job.run(lo, min(lo+p.grain, p.n))
	}
}

// dispatch runs t over [0, n) in chunks of grain items; p.mu is held.
func (p *Pool) dispatch(n, grain int, t task) {
	grain = max(grain, 1)
	helpers := min(len(p.wake), (n+grain-1)/grain-1)
	if helpers <= 0 {
		if n > 0 {
			t.run(0, n)
		}
		return
	}
	p.job, p.n, p.grain = t, n, grain
	p.next.Store(0)
	p.done.Add(helpers)
	for _, ch := range p.wake[:helpers] {
		ch <- struct{}{}
	}
	p.work()
	p.done.Wait()
	p.job = nil
}

// grainFor picks a chunk of rows: about four chunks per goroutine, and
// at least 32 KiB of weights per chunk so handing out chunks stays cheap.
func (p *Pool) grainFor(rows, rowBytes int) int {
	g := (rows + 4*p.threads - 1) / (4 * p.threads)
	return max(g, 32<<10/max(rowBytes, 1), 1)
}

// vectors returns n scratch vectors.
func (p *Pool) vectors(n int) []Vector {
	if len(p.vecs) < n {
		p.vecs = append(p.vecs, make([]Vector, n-len(p.vecs))...)
	}
	return p.vecs[:n]
}

// quantizeJob converts activation rows in parallel.
type quantizeJob struct {
	typ  Type
	x    []float32
	cols int
	vecs []Vector
}

func (j *quantizeJob) run(lo, hi int) {
	for r := lo; r < hi; r++ {
		// Cannot fail: the matrix checked that cols fits the type.
		_ = j.vecs[r].Quantize(j.typ, j.x[r*j.cols:(r+1)*j.cols])
	}
}
