//go:build linux

package quant

import (
	"fmt"
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

// TestTileCPUTime reports, for each type with a micro-kernel in the
// active tier, the median CPU time per multiply-add of a tile (16 weight
// rows by 8 activation rows) through the micro-kernel and through one dot
// product per pair. Set TETHER_KERNEL_TIMES=1 to run it.
func TestTileCPUTime(t *testing.T) {
	if os.Getenv("TETHER_KERNEL_TIMES") == "" {
		t.Skip("set TETHER_KERNEL_TIMES=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const n, rows, nv = 4864, 16, 8
	for _, typ := range testTypes {
		k := kernels[typ]
		if k.tile == nil {
			continue
		}
		rng := rand.New(rand.NewPCG(1, 1))
		rb, _ := typ.RowBytes(n)
		w := make([]byte, rows*rb)
		for r := 0; r < rows; r++ {
			Quantize(typ, w[r*rb:(r+1)*rb], gaussRow(rng, n, 0.05))
		}
		vt, _ := typ.VecDotType()
		vs := make([]Vector, nv)
		for i := range vs {
			vs[i].Quantize(vt, gaussRow(rng, n, 1))
		}
		dst := make([]float32, rows*nv)
		median := func(f func()) float64 {
			var times []time.Duration
			for rep := 0; rep < 9; rep++ {
				start := threadCPU()
				for i := 0; i < 10; i++ {
					f()
				}
				times = append(times, threadCPU()-start)
			}
			slices.Sort(times)
			return float64(times[len(times)/2].Nanoseconds()) / (10 * rows * nv * n)
		}
		tile := median(func() { k.tile(dst, rows, w, rb, rows, vs) })
		dots := median(func() { tileByDot(k.dot, dst, rows, w, rb, rows, vs) })
		t.Logf("%-5s tile %.4f ns/element, dot per pair %.4f ns/element (×%.2f)", typ, tile, dots, dots/tile)
	}
}

// TestActCPUTime reports the median CPU time per element of each
// activation conversion (Vector.Quantize) in every tier this CPU runs,
// side by side. Set TETHER_KERNEL_TIMES=1 to run it.
func TestActCPUTime(t *testing.T) {
	if os.Getenv("TETHER_KERNEL_TIMES") == "" {
		t.Skip("set TETHER_KERNEL_TIMES=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, n := range []int{896, 4864} {
		x := gaussRow(rand.New(rand.NewPCG(1, 1)), n, 1)
		for _, typ := range []Type{Q8_0, Q8_1, Q8_K, F16} {
			m := n / typ.BlockSize() * typ.BlockSize()
			line := fmt.Sprintf("%-4s n=%-5d", typ, m)
			for _, tier := range KernelTiers() {
				withTier(t, tier, func() {
					var v Vector
					v.Quantize(typ, x[:m])
					var times []time.Duration
					for rep := 0; rep < 15; rep++ {
						start := threadCPU()
						for i := 0; i < 50; i++ {
							v.Quantize(typ, x[:m])
						}
						times = append(times, threadCPU()-start)
					}
					slices.Sort(times)
					line += fmt.Sprintf("  %s %.3f ns/element", tier, float64(times[len(times)/2].Nanoseconds())/(50*float64(m)))
				})
			}
			t.Log(line)
		}
	}
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMatMulsCPUTime compares, side by side on a pool of two goroutines,
// separate MatMul calls with one MatMuls for the q/k/v and gate/up
// products of a Qwen2.5-0.5B-shaped Q8_0 layer over 128 rows: median
// wall and process CPU time (helpers' spinning included). Set
// TETHER_KERNEL_TIMES=1 to run it.
func TestMatMulsCPUTime(t *testing.T) {
	if os.Getenv("TETHER_KERNEL_TIMES") == "" {
		t.Skip("set TETHER_KERNEL_TIMES=1")
	}
	const e, n = 896, 128
	rng := rand.New(rand.NewPCG(1, 1))
	pool := NewPool(2)
	defer pool.Close()
	for _, shape := range []struct {
		name string
		rows []int
	}{{"qkv", []int{896, 128, 128}}, {"gate/up", []int{4864, 4864}}} {
		var ms []*Matrix
		var dsts [][]float32
		for _, r := range shape.rows {
			ms = append(ms, randomMatrix(t, Q8_0, r, e, rng, pool))
			dsts = append(dsts, make([]float32, n*r))
		}
		x := gaussRow(rng, n*e, 1)
		variants := []func(){
			func() {
				for i, m := range ms {
					m.MatMul(dsts[i], x, n)
				}
			},
			func() { pool.MatMuls(dsts, ms, x, n) },
		}
		var wall, cpu [2][]time.Duration
		for rep := 0; rep < 15; rep++ {
			for v, f := range variants {
				w0, c0 := time.Now(), processCPU()
				for range 4 {
					f()
				}
				wall[v] = append(wall[v], time.Since(w0)/4)
				cpu[v] = append(cpu[v], (processCPU()-c0)/4)
			}
		}
		med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
		t.Logf("%-7s separate MatMul: wall %v cpu %v; MatMuls: wall %v cpu %v", shape.name, med(wall[0]), med(cpu[0]), med(wall[1]), med(cpu[1]))
	}
}
