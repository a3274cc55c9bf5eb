//go:build linux

package model

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/engine/quant"
	"golang.org/x/sys/unix"
)

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// BenchmarkPrefillCPUQwen25HalfQ8_0 reports the median CPU time of
// evaluating a 128-token prompt with the Qwen2.5-0.5B-shaped Q8_0 model,
// which stays meaningful on a machine shared with other work. Run it with
// -cpu 1 (then the pool has no helpers and all the work is on the timed
// thread) and -benchtime 1x.
func BenchmarkPrefillCPUQwen25HalfQ8_0(b *testing.B) {
	if runtime.GOMAXPROCS(0) != 1 {
		b.Skip("run with -cpu 1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := realistic(b, qwen25Half, quant.Q8_0)
	const n = 128
	ws, _ := m.NewWorkspace(n)
	c, _ := m.NewCache(n, KVF16)
	tokens := randomTokens(2, n, qwen25Half.vocab)
	ctx := context.Background()
	var times []time.Duration
	for i := range 6 {
		c.Reset()
		start := threadCPU()
		if _, err := m.Eval(ctx, ws, c, tokens); err != nil {
			b.Fatal(err)
		}
		if i > 0 { // the first pass warms up
			times = append(times, threadCPU()-start)
		}
	}
	slices.Sort(times)
	med := times[len(times)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, "cpu-ms/prompt")
	b.ReportMetric(n/med.Seconds(), "tok/cpu-s")
}
