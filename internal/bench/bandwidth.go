package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// Bandwidth is the memory read bandwidth, in GB/s (10⁹ bytes a second),
// measured by streaming reads of one large buffer.
type Bandwidth struct {
	OneThread  float64 `json:"one_thread_gbps"`
	AllThreads float64 `json:"all_threads_gbps"`
	Threads    int     `json:"threads"`
	// Bytes is the buffer's size.
	Bytes int64 `json:"bytes"`
}

// DefaultBandwidthBytes is the buffer MeasureBandwidth reads by default:
// far more than any CPU's caches, and about the size of the weights one
// decoding step of the benchmark's models reads.
const DefaultBandwidthBytes = 1 << 30

// MeasureBandwidth reads a buffer of size bytes, first on one goroutine,
// then split among threads goroutines, and reports the best of passes
// passes of each. Decoding is bound by the same kind of reads: every
// weight streams from memory once a token. The buffer is released before
// it returns.
func MeasureBandwidth(ctx context.Context, size int64, threads, passes int) (Bandwidth, error) {
	threads, passes = max(threads, 1), max(passes, 1)
	words := max(int(size/8), 8*threads)
	buf := make([]uint64, words)
	for i := range buf { // touch every page before timing
		buf[i] = uint64(i)
	}
	defer func() {
		buf = nil
		debug.FreeOSMemory()
	}()
	bw := Bandwidth{Threads: threads, Bytes: int64(words) * 8}
	for _, n := range []int{1, threads} {
		best := 0.0
		for range passes {
			if err := ctx.Err(); err != nil {
				return bw, err
			}
			d := readParallel(buf, n)
			best = max(best, float64(len(buf)*8)/d.Seconds()/1e9)
		}
		if n == 1 {
			bw.OneThread = best
		}
		bw.AllThreads = best
	}
	return bw, nil
}

// readParallel reads buf split into n parts, one goroutine each, and
// returns the time from their common start to the last one's end.
func readParallel(buf []uint64, n int) time.Duration {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	sums := make([]uint64, n*8) // 64 bytes apart: no false sharing
	part := len(buf) / n
	for i := range n {
		lo, hi := i*part, (i+1)*part
		if i == n-1 {
			hi = len(buf)
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			<-start
			sums[i*8] = sumWords(buf[lo:hi])
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	d := time.Since(t0)
	for _, s := range sums {
		sink += int(s & 1)
	}
	return d
}

// sumWords reads every word of b, eight independent chains at a time so
// that loads, not additions, bound the loop.
func sumWords(b []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(b) >= 8 {
		s0 += b[0]
		s1 += b[1]
		s2 += b[2]
		s3 += b[3]
		s4 += b[4]
		s5 += b[5]
		s6 += b[6]
		s7 += b[7]
		b = b[8:]
	}
	for _, v := range b {
		s0 += v
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}
