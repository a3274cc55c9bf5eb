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
// hand-over to the caller — reuses its memory.
func TestDecodeLoopDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	e := load(t, tinyLlama(), Options{ContextLength: 1024, Threads: 2})
	if perToken, desc := allocationsPerToken(t, e, Request{Text: prompt, IgnoreEOG: true}); perToken > maxAllocationsPerToken {
		t.Errorf("decoding allocated %.2f times per token (%s)", perToken, desc)
	}
}

// maxAllocationsPerToken is what a generation may allocate a token: an
// allocation on the token path shows as 1, one every ten tokens as 0.1;
// below that are the doublings of the buffers that hold what the reader
// has not taken yet, which grow more when the machine is busy and the
// reader lags.
const maxAllocationsPerToken = 0.1

// allocationsPerToken measures what generating req allocates a token:
// two generations that differ only in length (40 and 400 tokens) must
// allocate the same, give or take the growth of buffers that double (the
// generation is streamed, so no result slice grows). It returns the best
// of three measurements, with the counts behind it.
func allocationsPerToken(t *testing.T, e *Engine, req Request) (float64, string) {
	t.Helper()
	ctx := context.Background()
	count := func(n int) uint64 {
		req.MaxTokens = n
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
	// goroutines), so this takes the best of three measurements: an
	// allocation per token would show in every one of them, as 360.
	best, desc := math.Inf(1), ""
	for range 3 {
		short, long := count(40), count(400)
		if perToken := (float64(long) - float64(short)) / 360; perToken < best {
			best, desc = perToken, fmt.Sprintf("%d allocations for 40 tokens, %d for 400", short, long)
		}
	}
	return best, desc
}
