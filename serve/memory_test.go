package serve

import (
	"bytes"
	"io"
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

// send posts body to path; chunked sends it without Content-Length.
func (ts *testServer) send(t *testing.T, path string, body []byte, chunked bool) answer {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length from net/http
	}
	req, err := http.NewRequest(http.MethodPost, ts.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// Requests are admitted by the memory their bodies take as well as by
// count: while one holds most of the budget, a body that does not fit
// is answered 503 (529 on the Messages API) with Retry-After, whether
// its length is announced or found while reading; once the first is
// answered, the same body is served.
func TestMemoryAdmission(t *testing.T) {
	const maxBody = 1 << 20
	ts := startServer(t, Config{MaxBodyBytes: maxBody, MaxRequestMemory: requestMemoryPerByte*maxBody + requestMemoryPerByte<<10})
	// The holder announces 512 KiB and sends them slowly: it is charged
	// at once, and holds the charge until it is answered.
	holder := oneWordBody(512 << 10)
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/v1/chat/completions", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(holder))
	held := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	waitFor(t, "the first request to be charged", func() bool { return ts.mem.used.Load() > 0 })

	big := oneWordBody(maxBody - 200)
	for _, tc := range []struct {
		path    string
		chunked bool
		status  int
	}{
		{"/v1/chat/completions", false, http.StatusServiceUnavailable},
		{"/v1/chat/completions", true, http.StatusServiceUnavailable},
		{"/v1/completions", false, http.StatusServiceUnavailable},
		{"/v1/messages", false, 529},
	} {
		a := ts.send(t, tc.path, big, tc.chunked)
		if a.status != tc.status || a.header.Get("Retry-After") == "" {
			t.Errorf("%s (chunked %v) while the budget is held: %d, Retry-After %q; want %d with Retry-After: %s",
				tc.path, tc.chunked, a.status, a.header.Get("Retry-After"), tc.status, a.body)
		}
		if tc.status == http.StatusServiceUnavailable {
			a.errorObject(t)
		}
	}
	// A small request still fits.
	if a := ts.send(t, "/v1/chat/completions", oneWordBody(1000), false); a.status == http.StatusServiceUnavailable {
		t.Errorf("a small request is refused too: %s", a.body)
	}

	if _, err := pw.Write(holder); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if st := <-held; st != http.StatusBadRequest {
		t.Fatalf("the first request: %d, want 400 (its prompt overflows the window)", st)
	}
	waitFor(t, "the charge to be released", func() bool { return ts.mem.used.Load() == 0 })
	if a := ts.send(t, "/v1/chat/completions", big, true); a.status != http.StatusBadRequest {
		t.Errorf("the large body once the budget is free: %d %s", a.status, a.body)
	}
}

// A large request's memory goes back to the operating system when it is
// answered: the heap it freed is released at once, not kept mapped for
// the scavenger to return over minutes.
func TestMemoryReleasedAfterLargeRequest(t *testing.T) {
	ts := startServer(t, Config{})
	body := oneWordBody(16 << 20)
	a := ts.call(t, http.MethodPost, "/v1/chat/completions", body, "")
	if a.status != http.StatusBadRequest {
		t.Fatalf("a 16 MiB prompt: %d %s", a.status, a.body)
	}
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	rtmetrics.Read(s)
	free, released := s[0].Value.Uint64(), s[1].Value.Uint64()
	t.Logf("after the request: %d bytes of free heap kept mapped, %d released", free, released)
	if free > 8<<20 {
		t.Errorf("%d bytes of free heap still mapped after a 16 MiB request; want under 8 MiB", free)
	}
}

// Four 16 MiB one-word prompts at once stay within four requests'
// charges: they once peaked over 5 GB together.
func TestConcurrentLongWordRequestsMemory(t *testing.T) {
	ts := startServer(t, Config{})
	body := oneWordBody(16 << 20)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	h := sampleHeap()
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Go(func() {
			// Not t's goroutine: failures are the status, checked below.
			resp, err := http.Post(ts.url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	peak := h.end() - min(h.peak.Load(), before.HeapAlloc)
	for i, st := range statuses {
		if st != http.StatusBadRequest {
			t.Errorf("request %d: %d, want 400", i, st)
		}
	}
	t.Logf("four %d-byte bodies at once: heap peak %d bytes over the start (%.1f× one body)", len(body), peak, float64(peak)/float64(len(body)))
	if limit := uint64(4 * requestMemoryPerByte * len(body)); peak > limit {
		t.Errorf("heap peak %d bytes; want at most the four requests' charges, %d", peak, limit)
	}
}

// A request that ends while another's memory is being handed back gets
// a round of its own after it: the running collection began before the
// second request let go of its memory. (Forty 30 MB prompts at once once
// left the server 680 MiB large after they were answered.)
func TestFreeMemoryAfterARunningFree(t *testing.T) {
	inFirst, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	saved := freeOSMemory
	freeOSMemory = func() {
		if calls.Add(1) == 1 {
			close(inFirst)
			<-release
		}
	}
	t.Cleanup(func() { freeOSMemory = saved })
	s := &Server{}
	first := make(chan struct{})
	go func() {
		s.freeMemory()
		close(first)
	}()
	<-inFirst
	s.freeMemory() // returns at once: the running call does the work
	close(release)
	<-first
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d collections; want 2: the first, and one after the request that ended during it", n)
	}
	s.freeMemory()
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d collections after a lone request; want 3", n)
	}
}
