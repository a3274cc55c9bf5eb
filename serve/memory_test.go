package serve

import (
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// oneWordBody is a chat request whose only message is one word of n bytes.
func oneWordBody(n int) []byte {
	return []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("a", n) + `"}],"max_tokens":8}`)
}

// heapSampler records the most heap in objects (live or not yet
// collected) while it runs, from runtime/metrics.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done sync.WaitGroup
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Go(func() {
		s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			rtmetrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			default:
				runtime.Gosched()
			}
		}
	})
	return h
}

func (h *heapSampler) end() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak.Load()
}

// A 16 MiB prompt of one word against a 512-token window is refused with
// memory a small multiple of the body: before tokenizing stopped at the
// window, the whole word went through the BPE merge loop (~60 bytes a
// byte) and the server held 55-80× the body.
func TestLongWordRequestMemory(t *testing.T) {
	ts := startServer(t, Config{})
	body := oneWordBody(16 << 20)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	base := before.HeapAlloc
	h := sampleHeap()
	a := ts.call(t, http.MethodPost, "/v1/chat/completions", body, "")
	peak := h.end()
	runtime.ReadMemStats(&after)
	if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "context_length_exceeded") {
		t.Fatalf("a 16 MiB prompt: %d %s", a.status, a.body)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d-byte body: %d bytes allocated (%.1f×), heap peak %d bytes over the start (%.1f×)",
		len(body), alloc, float64(alloc)/float64(len(body)), peak-min(peak, base), float64(peak-min(peak, base))/float64(len(body)))
	if alloc > 8*uint64(len(body)) {
		t.Errorf("the request allocated %d bytes, %.1f× its body; want at most 8×", alloc, float64(alloc)/float64(len(body)))
	}
}
