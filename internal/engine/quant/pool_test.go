package quant

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// countJob counts its items; each item first burns a varying amount of
// CPU, so that goroutines finish at different times and the pool's spin
// phases run out (parking its helpers and its dispatcher) in varied
// orders.
type countJob struct {
	done  atomic.Int64
	spin  int
	waste atomic.Uint64
}

func (j *countJob) Do(_, item int) {
	x := uint64(item)
	for range j.spin * (item%3 + 1) {
		x = x*6364136223846793005 + 1442695040888963407
	}
	j.waste.Add(x)
	j.done.Add(1)
}

// TestPoolHandOvers runs many short pieces of work back to back, the
// pattern of a forward pass, on pools whose helpers spin, park and are
// woken in every interleaving the scheduler happens to produce: every
// Run must return only after all of its items are done, and never hang.
func TestPoolHandOvers(t *testing.T) {
	for _, threads := range []int{2, 3, 5} {
		p := NewPool(threads)
		var j countJob
		for round := range 4000 {
			n := 1 + round%7
			j.done.Store(0)
			j.spin = []int{0, 10, 1000, 30000}[round%4]
			p.Run(n, &j)
			if got := j.done.Load(); got != int64(n) {
				p.Close()
				t.Fatalf("%d threads, round %d: Run returned after %d of %d items", threads, round, got, n)
			}
		}
		p.Close()
	}
}

// TestPoolLateHelper stalls a helper between reporting generation g done
// and waking the dispatcher until the dispatcher has started generation
// g+1 and parked, as an OS preemption can, and then holds its report of
// g+1: the late wake-up for g must not end g+1 before the helper reports
// it.
func TestPoolLateHelper(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var armed, early atomic.Bool
	var stalledAt, ended atomic.Uint64
	hook := func(p *Pool, g uint64, reported bool) {
		switch {
		case reported && armed.CompareAndSwap(true, false):
			for {
				w := p.waiting.Load()
				if w == g {
					return // the dispatcher waits for this very report: no stall
				}
				if p.gen.Load() != g && w != 0 {
					stalledAt.Store(g) // the next generation waits for this helper
					return
				}
				runtime.Gosched()
			}
		case !reported && stalledAt.Load() != 0 && g == stalledAt.Load()+1:
			for ended.Load() < g && p.waiting.Load() != g {
				runtime.Gosched()
			}
			early.Store(ended.Load() >= g)
		}
	}
	helperReportHook.Store(&hook)
	defer helperReportHook.Store(nil)
	var j countJob
	for round := 0; stalledAt.Load() == 0 || ended.Load() <= stalledAt.Load()+1; round++ {
		if round == 1000 {
			t.Fatal("the helper was never caught between two generations")
		}
		armed.Store(stalledAt.Load() == 0)
		j.done.Store(0)
		p.Run(4, &j)
		ended.Store(p.gen.Load())
		if got := j.done.Load(); got != 4 {
			t.Fatalf("Run returned after %d of 4 items", got)
		}
	}
	if early.Load() {
		t.Error("Run returned before its helper reported the generation done")
	}
}
