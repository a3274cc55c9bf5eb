package quant

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is the engine's one set of worker goroutines: the caller plus
// Threads()-1 helpers that live as long as the pool. It runs the
// products of matrices and, through [Pool.Run], any other parallel work
// of a forward pass (attention), so that a model has exactly as many
// busy goroutines as threads.
//
// Work is handed over without allocation. Between hand-overs a helper
// spins for a short while (a forward pass hands over work every few tens
// of microseconds) and then parks on a channel, so an idle pool costs
// nothing. Items are split into chunks that the goroutines take in turn,
// so a slow core does not hold the others back. One piece of work runs
// at a time: a Pool is safe for concurrent use, and concurrent calls
// queue.
type Pool struct {
	mu      sync.Mutex
	threads int
	helpers []*helper
	closed  bool

	// The running work, published to the helpers by gen.
	job     task
	n       int
	grain   int
	next    atomic.Int64
	gen     atomic.Uint64
	pending atomic.Int32 // helpers still working on the current gen
	// waiting holds the generation the dispatching goroutine is parked
	// on done for, 0 when it is not parked. Tagging it with the
	// generation keeps a helper that is slow to leave one generation
	// from waking the dispatcher of the next.
	waiting atomic.Uint64
	done    chan struct{}

	// Scratch reused by every call, so products stop allocating once
	// they have seen their sizes.
	vecs  []Vector
	jobMV matVecJob
	jobMM matMulJob
	jobQ  quantizeJob
	// jobMulti is MatVecs' job, jobMMs MatMuls', jobRun Run's.
	jobMulti multiJob
	jobMMs   matMulsJob
	jobRun   runJob
}

// task is work over items [0, n) split into ranges; worker numbers the
// goroutine, from 0 (the caller) to Threads()-1.
type task interface {
	run(worker, lo, hi int)
}

// helper is one helper goroutine's parking place.
type helper struct {
	wake   chan struct{}
	parked atomic.Bool
}

// spinRounds is how many times an idle helper checks for new work, and
// the dispatcher for the helpers' end, before parking: a few
// microseconds, enough to span the gap between the products of a forward
// pass. Spinning longer costs more than it saves once the machine has
// other work: a spinning thread takes the core from the one that would
// finish the job.
const spinRounds = 64

// NewPool starts a pool of threads goroutines in all (the caller counts
// as one); threads <= 0 means GOMAXPROCS.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, done: make(chan struct{}, 1)}
	for w := 1; w < threads; w++ {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go p.loop(h, w)
	}
	return p
}

var sharedPool = sync.OnceValue(func() *Pool { return NewPool(0) })

// SharedPool is the pool of matrices made without one: GOMAXPROCS
// goroutines, never closed.
func SharedPool() *Pool { return sharedPool() }

// Threads is the number of goroutines work runs on.
func (p *Pool) Threads() int { return p.threads }

// Close stops the helpers; later work runs on the caller alone.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, h := range p.helpers {
		close(h.wake)
	}
}

// helperReportHook, when set by a test, runs in a helper that has finished
// generation g, just before it reports so (reported false) and between
// the report and its wake-up of the dispatcher (reported true): the
// moments a preempted helper can be stuck in while the dispatcher moves
// on.
var helperReportHook atomic.Pointer[func(p *Pool, g uint64, reported bool)]

// loop is a helper's life: wait for a new generation of work, take
// chunks until none are left, report, repeat.
func (p *Pool) loop(h *helper, worker int) {
	// Generation 0 is the pool's start: work published before this
	// goroutine first runs is generation 1, which it must not miss.
	var seen uint64
	for {
		g, ok := p.await(h, seen)
		if !ok {
			return
		}
		seen = g
		if j := p.job; j != nil {
			p.work(j, worker)
		}
		hook := helperReportHook.Load()
		if hook != nil {
			(*hook)(p, g, false)
		}
		left := p.pending.Add(-1)
		if left < 0 {
			panic("quant: pool helper reported a generation twice")
		}
		if hook != nil {
			(*hook)(p, g, true)
		}
		if left == 0 && p.waiting.CompareAndSwap(g, 0) {
			p.done <- struct{}{}
		}
	}
}

// await returns the generation after seen once it is published; false
// means the pool was closed.
func (p *Pool) await(h *helper, seen uint64) (uint64, bool) {
	for range spinRounds {
		if g := p.gen.Load(); g != seen {
			return g, true
		}
		runtime.Gosched()
	}
	for {
		h.parked.Store(true)
		// Work published between the last check and parking would find
		// parked false and send no wake-up: look once more.
		if g := p.gen.Load(); g != seen && h.parked.CompareAndSwap(true, false) {
			return g, true
		}
		if _, ok := <-h.wake; !ok {
			return 0, false
		}
		if g := p.gen.Load(); g != seen {
			return g, true
		}
		// A wake-up for the generation just done, sent late: the
		// dispatcher published it, was delayed, and found this helper
		// parked again after it had already taken and finished the work.
		// Park again.
	}
}

func (p *Pool) work(j task, worker int) {
	for {
		lo := int(p.next.Add(1)-1) * p.grain
		if lo >= p.n {
			return
		}
		j.run(worker, lo, min(lo+p.grain, p.n))
	}
}

// dispatch runs t over [0, n) in chunks of grain items; p.mu is held.
// Every helper joins each dispatch (taking no chunk if none is left), so
// the generation count and the pending count stay in step.
func (p *Pool) dispatch(n, grain int, t task) {
	grain = max(grain, 1)
	if p.closed || len(p.helpers) == 0 || n <= grain {
		if n > 0 {
			t.run(0, 0, n)
		}
		return
	}
	p.job, p.n, p.grain = t, n, grain
	p.next.Store(0)
	p.pending.Store(int32(len(p.helpers)))
	g := p.gen.Add(1)
	for _, h := range p.helpers {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	p.work(t, 0)
	p.awaitHelpers(g)
	p.job = nil
}

// awaitHelpers returns once every helper has finished generation g: it
// spins briefly, then parks until the last one reports.
func (p *Pool) awaitHelpers(g uint64) {
	for range spinRounds {
		if p.pending.Load() == 0 {
			return
		}
		runtime.Gosched()
	}
	p.waiting.Store(g)
	// The last helper may have finished before waiting was set, and so
	// sent nothing.
	if p.pending.Load() == 0 && p.waiting.CompareAndSwap(g, 0) {
		return
	}
	<-p.done
	if p.pending.Load() != 0 {
		// Only the helper that finishes generation g may send: a wake-up
		// with work outstanding would hand back rows not yet computed.
		panic("quant: pool dispatcher woken before its helpers finished")
	}
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

// Job is parallel work over numbered items, run by [Pool.Run].
type Job interface {
	// Do processes one item. Items of one Run may be processed on
	// several goroutines at once; worker, from 0 to Threads()-1, is
	// distinct among those running at the same moment, so it can index
	// per-goroutine scratch memory.
	Do(worker, item int)
}

// Run calls j.Do for every item in [0, n) on the pool's goroutines and
// returns when all are done. It does not allocate.
func (p *Pool) Run(n int, j Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jobRun.j = j
	p.dispatch(n, 1, &p.jobRun)
	p.jobRun.j = nil
}

type runJob struct{ j Job }

func (r *runJob) run(worker, lo, hi int) {
	for i := lo; i < hi; i++ {
		r.j.Do(worker, i)
	}
}

// maxVecTypes bounds the distinct vec-dot types of one fused product.
const maxVecTypes = 8

// quantizeRows converts the n rows of cols elements in x to each of the
// first nt types of typs, in parallel: vecs[k*n+r] gets row r as typs[k].
// p.mu is held.
func (p *Pool) quantizeRows(x []float32, n, cols int, typs [maxVecTypes]Type, nt int, vecs []Vector) {
	p.jobQ = quantizeJob{typs: typs, n: n, x: x, cols: cols, vecs: vecs}
	p.dispatch(nt*n, max(1, 8192/max(cols, 1)), &p.jobQ)
	p.jobQ = quantizeJob{}
}

// quantizeJob converts activation rows in parallel: item k*n+r is row r
// as typs[k].
type quantizeJob struct {
	typs [maxVecTypes]Type
	n    int
	x    []float32
	cols int
	vecs []Vector
}

func (j *quantizeJob) run(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		r := i % j.n
		// Cannot fail: the matrix checked that cols fits the type.
		_ = j.vecs[i].Quantize(j.typs[i/j.n], j.x[r*j.cols:(r+1)*j.cols])
	}
}
