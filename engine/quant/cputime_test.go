//go:build linux

package quant

import (
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// TestKernelCPUTime reports each dot kernel's median CPU time per element, which
// stays meaningful on a machine shared with other work (wall-clock
// benchmarks do not). Set TETHER_KERNEL_TIMES=1 to run it.
func TestKernelCPUTime(t *testing.T) {
	if os.Getenv("TETHER_KERNEL_TIMES") == "" {
		t.Skip("set TETHER_KERNEL_TIMES=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const n, rows = 4864, 64
	for _, typ := range testTypes {
		rng := rand.New(rand.NewPCG(1, 1))
		rb, _ := typ.RowBytes(n)
		w := make([]byte, rows*rb)
		for r := 0; r < rows; r++ {
			Quantize(typ, w[r*rb:(r+1)*rb], gaussRow(rng, n, 0.05))
		}
		vt, _ := typ.VecDotType()
		var v Vector
		v.Quantize(vt, gaussRow(rng, n, 1))
		dot := kernels[typ].dot
		var times []time.Duration
		for rep := 0; rep < 9; rep++ {
			start := threadCPU()
			for i := 0; i < 10; i++ {
				for r := 0; r < rows; r++ {
					dot(w[r*rb:(r+1)*rb], &v)
				}
			}
			times = append(times, threadCPU()-start)
		}
		slices.Sort(times)
		per := float64(times[len(times)/2].Nanoseconds()) / (10 * rows * n)
		t.Logf("%-5s %.3f ns/element  %.2f GB/s of weights", typ, per, float64(rb)/float64(n)/per)
	}
}
