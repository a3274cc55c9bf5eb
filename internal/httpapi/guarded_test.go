package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// sleeps records the waits a transport asks for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// script answers the n-th request (from 0) with statuses[n], the last
// one repeating, and records the bodies it was sent.
type script struct {
	statuses []int
	header   http.Header
	n        atomic.Int32
	mu       sync.Mutex
	bodies   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.n.Add(1)) - 1
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	status := s.statuses[min(n, len(s.statuses)-1)]
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	io.WriteString(w, `{"error":{"message":"scripted"}}`)
}

func post(t *testing.T, tr *Transport, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader([]byte(`{"n":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestRetryStatuses(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		statuses []int
		header   http.Header
		attempts int
		want     int             // final status
		sent     int             // requests the server saw
		minWait  []time.Duration // each wait at least this
	}{
		{"400 is final", []int{400, 200}, nil, 3, 400, 1, nil},
		{"401 is final", []int{401, 200}, nil, 3, 401, 1, nil},
		{"404 is final", []int{404, 200}, nil, 3, 404, 1, nil},
		{"413 is final", []int{413, 200}, nil, 3, 413, 1, nil},
		{"429 then 200", []int{429, 200}, http.Header{"Retry-After": {"7"}}, 3, 200, 2, []time.Duration{7 * time.Second}},
		{"429 with a date", []int{429, 429, 200}, http.Header{"Retry-After": {now.Add(20 * time.Second).Format(http.TimeFormat)}}, 3, 200, 3,
			[]time.Duration{20 * time.Second, 20 * time.Second}},
		{"429 asking too long", []int{429, 200}, http.Header{"Retry-After": {"3600"}}, 3, 429, 1, nil},
		{"408 then 200", []int{408, 200}, nil, 3, 200, 2, []time.Duration{0}},
		{"503 until attempts run out", []int{503}, nil, 2, 503, 3, []time.Duration{0, 0}},
		{"529", []int{529, 200}, nil, 1, 200, 2, []time.Duration{0}},
		{"500", []int{500, 502, 504, 200}, nil, 5, 200, 4, []time.Duration{0, 0, 0}},
		{"501 is final", []int{501, 200}, nil, 3, 501, 1, nil},
		{"no attempts", []int{503, 200}, nil, 0, 503, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{statuses: tt.statuses, header: tt.header}
			srv := httptest.NewServer(s)
			defer srv.Close()
			var sl sleeps
			tr := NewGuardedTransport(TransportOptions{Now: func() time.Time { return now },
				Retry: Retry{Attempts: tt.attempts, Base: 100 * time.Millisecond, MaxDelay: time.Minute, Sleep: sl.sleep}})
			resp, err := post(t, tr, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want || int(s.n.Load()) != tt.sent {
				t.Fatalf("status %d after %d requests, want %d after %d", resp.StatusCode, s.n.Load(), tt.want, tt.sent)
			}
			if b, _ := io.ReadAll(resp.Body); tt.want != 200 && !bytes.Contains(b, []byte("scripted")) {
				t.Errorf("the final answer's body is lost: %q", b)
			}
			waits := sl.got()
			if len(waits) != len(tt.minWait) {
				t.Fatalf("waits %v, want %d", waits, len(tt.minWait))
			}
			for i, w := range waits {
				if w < tt.minWait[i] || w > time.Minute {
					t.Errorf("wait %d is %s, want from %s to the 1m cap", i, w, tt.minWait[i])
				}
			}
			for i, b := range s.bodies {
				if b != `{"n":1}` {
					t.Errorf("attempt %d sent body %q", i, b)
				}
			}
		})
	}
}

// TestRetryBackoff checks that the backoff grows, jittered, and stays
// under the cap.
func TestRetryBackoff(t *testing.T) {
	s := &script{statuses: []int{503}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var sl sleeps
	tr := NewGuardedTransport(TransportOptions{Retry: Retry{Attempts: 8, Base: 100 * time.Millisecond, MaxDelay: time.Second, Sleep: sl.sleep}})
	if _, err := post(t, tr, srv.URL); err != nil {
		t.Fatal(err)
	}
	waits := sl.got()
	if len(waits) != 8 {
		t.Fatalf("waits %v", waits)
	}
	for i, w := range waits {
		full := min(100*time.Millisecond<<i, time.Second)
		if w < full/2 || w > full {
			t.Errorf("wait %d is %s, want within [%s, %s]", i, w, full/2, full)
		}
	}
}

func TestRetryConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	var sl sleeps
	tr := NewGuardedTransport(TransportOptions{Retry: Retry{Attempts: 2, Sleep: sl.sleep}})
	_, err = post(t, tr, url)
	if !errors.Is(err, syscall.ECONNREFUSED) || len(sl.got()) != 2 {
		t.Fatalf("err %v after %d waits, want connection refused after 2", err, len(sl.got()))
	}
}

// TestRetryStopsWhenCancelled checks that a cancelled wait ends the
// request with the context's error.
func TestRetryStopsWhenCancelled(t *testing.T) {
	s := &script{statuses: []int{503}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	tr := NewGuardedTransport(TransportOptions{Retry: Retry{Attempts: 5, Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := (&http.Client{Transport: tr}).Do(req)
	if !errors.Is(err, context.Canceled) || s.n.Load() != 1 {
		t.Fatalf("err %v after %d requests", err, s.n.Load())
	}
}

func TestFirstByteTimeout(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body) // so that the server sees the client go
		<-r.Context().Done()        // takes the request and says nothing
	}))
	defer srv.Close()
	var sl sleeps
	tr := NewGuardedTransport(TransportOptions{Timeouts: Timeouts{FirstByte: 20 * time.Millisecond}, Retry: Retry{Attempts: 1, Sleep: sl.sleep}})
	_, err := post(t, tr, srv.URL)
	var te *llm.TimeoutError
	if !errors.As(err, &te) || te.Phase != "first byte" || te.Limit != 20*time.Millisecond {
		t.Fatalf("err %v, want a first-byte timeout", err)
	}
	if n.Load() != 2 || len(sl.got()) != 1 {
		t.Errorf("%d requests, %d waits: a first-byte timeout is retried once", n.Load(), len(sl.got()))
	}
}

// TestIdleTimeout checks that a stream that stalls after its first byte
// fails with an idle timeout and is not sent again, and that time the
// caller spends between reads does not count.
func TestIdleTimeout(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, "data: two\n\n")
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := NewGuardedTransport(TransportOptions{Timeouts: Timeouts{Idle: 30 * time.Millisecond}, Retry: Retry{Attempts: 3}})
	resp, err := post(t, tr, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if k, err := resp.Body.Read(buf); err != nil || string(buf[:k]) != "data: one\n\n" {
		t.Fatalf("first read %q %v", buf[:k], err)
	}
	_, err = io.ReadAll(resp.Body)
	var te *llm.TimeoutError
	if !errors.As(err, &te) || te.Phase != "idle" {
		t.Fatalf("err %v, want an idle timeout", err)
	}
	if n.Load() != 1 {
		t.Errorf("the server saw %d requests: a stream is never sent again after its first byte", n.Load())
	}
}

// TestIdleCountsOnlyWaits checks that a caller slower than the idle
// timeout between reads does not trip it: only waits inside a read
// count.
func TestIdleCountsOnlyWaits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "second")
	}))
	defer srv.Close()
	tr := NewGuardedTransport(TransportOptions{Timeouts: Timeouts{Idle: 50 * time.Millisecond}})
	resp, err := post(t, tr, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("first "))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	<-time.After(150 * time.Millisecond) // a slow caller: three idle timeouts between reads
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "second" {
		t.Fatalf("read %q %v", b, err)
	}
}

func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", "7", "1.5", "-3", "1e300", "NaN", "Inf", "soon",
		now.Add(time.Minute).Format(http.TimeFormat), "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT"} {
		f.Add(s, "")
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, retryAfter, ms string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("Retry-After-Ms", ms)
		d := RetryAfter(h, now)
		if d < 0 {
			t.Fatalf("RetryAfter(%q, ms %q) = %s, negative", retryAfter, ms, d)
		}
	})
}

// TestConnectTimeout gives the dial no time at all: the failure is a
// connect timeout, which is retried.
func TestConnectTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, tier := range []llm.PrivacyTier{llm.Standard, llm.Sovereign} {
		var sl sleeps
		tr := NewGuardedTransport(TransportOptions{Egress: Egress{Tier: tier}, Timeouts: Timeouts{Connect: time.Nanosecond}, Retry: Retry{Attempts: 1, Sleep: sl.sleep}})
		_, err := post(t, tr, srv.URL)
		var te *llm.TimeoutError
		if !errors.As(err, &te) || te.Phase != "connect" || len(sl.got()) != 1 {
			t.Errorf("%s: err %v after %d waits, want a connect timeout retried once", tier, err, len(sl.got()))
		}
	}
}

// TestRetryConnectionClosedBeforeAnswer closes the first connection as
// soon as it is accepted, before any byte of an answer: the request is
// sent again on a new connection and succeeds.
func TestRetryConnectionClosedBeforeAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	first := true
	var served atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "ok")
	})}
	go srv.Serve(closeFirst{Listener: ln, first: &first})
	defer srv.Close()
	var sl sleeps
	tr := NewGuardedTransport(TransportOptions{Egress: Egress{Tier: llm.Sovereign}, Retry: Retry{Attempts: 2, Sleep: sl.sleep}})
	resp, err := post(t, tr, "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" || served.Load() != 1 || len(sl.got()) != 1 {
		t.Fatalf("body %q, served %d, waits %v", b, served.Load(), sl.got())
	}
}

// closeFirst closes the first connection it accepts.
type closeFirst struct {
	net.Listener
	first *bool
}

func (l closeFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !*l.first {
			return c, err
		}
		*l.first = false
		c.Close()
	}
}
