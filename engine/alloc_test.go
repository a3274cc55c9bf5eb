package engine

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestDecodeLoopDoesNotAllocate checks that generating a token costs no
// allocation once the engine is warm: the whole path of the scheduler —
// the batched forward pass, sampling, detokenising, stop strings and the
// hand-over to the caller — reuses its memory. Two generations that
// differ only in length must allocate the same, give or take the growth
// of buffers that double (the test streams, so no result slice grows).
func TestDecodeLoopDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	e := load(t, tinyLlama(), Options{ContextLength: 1024, Threads: 2})
	ctx := context.Background()
	count := func(n int) uint64 {
		req := Request{Text: prompt, MaxTokens: n, IgnoreEOG: true}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got := 0
		for tok, err := range e.Generate(ctx, req) {
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Done {
				got++
			}
		}
		runtime.ReadMemStats(&after)
		if got != n {
			t.Fatalf("generated %d tokens, want %d", got, n)
		}
		return after.Mallocs - before.Mallocs
	}
	count(400) // warm-up: the workspace, caches and scratch reach their sizes
	// A collection empties the runtime's caches of parking records,
	// which the next parked goroutines then allocate again: keep the
	// collector out of the measured runs.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// The released text's buffer grows by doubling: a handful of
	// allocations, however long the generation. The runtime allocates a
	// few things of its own now and then (records for parked
	// goroutines), so the test takes the best of three measurements: an
	// allocation per token would show in every one of them, as 360.
	best, desc := math.Inf(1), ""
	for range 3 {
		short, long := count(40), count(400)
		if perToken := (float64(long) - float64(short)) / 360; perToken < best {
			best, desc = perToken, fmt.Sprintf("%d allocations for 40 tokens, %d for 400", short, long)
		}
	}
	if best > 0.02 {
		t.Errorf("decoding allocated %.2f times per token (%s)", best, desc)
	}
}
