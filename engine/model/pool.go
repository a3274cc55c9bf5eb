package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// job is work split into numbered items; do may run items of one job on
// several goroutines at once, each with its own worker number.
type job interface {
	do(worker, item int)
}

// pool runs jobs on a fixed set of goroutines plus the caller. Handing a
// job over costs a channel send per helper and no allocation.
type pool struct {
	mu      sync.Mutex // one job at a time
	workers int
	wake    []chan struct{}
	done    sync.WaitGroup
	job     job
	items   int64
	next    atomic.Int64
	closed  bool
}

func newPool(threads int) *pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &pool{workers: threads}
	for w := 1; w < threads; w++ {
		ch := make(chan struct{})
		p.wake = append(p.wake, ch)
		go func() {
			for range ch {
				p.work(w)
				p.done.Done()
			}
		}()
	}
	return p
}

// run calls j.do for every item in [0, n) and returns when all are done.
func (p *pool) run(n int, j job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	helpers := min(len(p.wake), n-1)
	if helpers <= 0 || p.closed {
		for i := range n {
			j.do(0, i)
		}
		return
	}
	p.job, p.items = j, int64(n)
	p.next.Store(0)
	p.done.Add(helpers)
	for _, ch := range p.wake[:helpers] {
		ch <- struct{}{}
	}
	p.work(0)
	p.done.Wait()
	p.job = nil
}

func (p *pool) work(w int) {
	for {
		i := p.next.Add(1) - 1
		if i >= p.items {
			return
		}
		p.job.do(w, int(i))
	}
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		for _, ch := range p.wake {
			close(ch)
		}
	}
}
