package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fakeServer answers /health with health.
func fakeServer(t *testing.T, health func(w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			health(w)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ok(w http.ResponseWriter) { fmt.Fprint(w, `{"status":"ok"}`) }

func TestHTTPHealthStates(t *testing.T) {
	loading := func(w http.ResponseWriter) {
		w.WriteHeader(503)
		fmt.Fprint(w, `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"},"progress":0.25}`)
	}
	tests := []struct {
		name    string
		health  func(w http.ResponseWriter)
		want    Status
		notOurs bool
	}{
		{name: "loading with progress", health: loading, want: Status{State: StateLoading, Progress: 0.25}},
		{name: "ready, no proof asked", health: ok, want: Status{State: StateReady}},
		{name: "health refuses our key", health: func(w http.ResponseWriter) { w.WriteHeader(401) }, notOurs: true},
		{name: "no health endpoint", health: func(w http.ResponseWriter) { w.WriteHeader(404) },
			want: Status{State: StateListening, Detail: "HTTP 404 from /health"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeServer(t, tt.health)
			h := &HTTPHealth{BaseURL: srv.URL, APIKey: "key"}
			st, err := h.Probe(context.Background())
			if tt.notOurs {
				if !errors.Is(err, ErrNotOurs) {
					t.Fatalf("Probe = %v, %v; want ErrNotOurs", st, err)
				}
				return
			}
			if err != nil || st != tt.want {
				t.Fatalf("Probe = %+v, %v; want %+v", st, err, tt.want)
			}
		})
	}
}

func TestHTTPHealthNothingListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := HTTPHealth{BaseURL: "http://" + addr}
	if st, err := h.Probe(context.Background()); err != nil || st.State != StateSpawned {
		t.Fatalf("Probe = %+v, %v; want spawned", st, err)
	}
}

func TestHTTPHealthSilentListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	h := HTTPHealth{BaseURL: "http://" + l.Addr().String()}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := h.Probe(ctx)
	if err != nil || st.State != StateListening {
		t.Fatalf("Probe = %+v, %v; want listening", st, err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("probe took %v despite its context", time.Since(start))
	}
}

func TestHealthProgress(t *testing.T) {
	tests := []struct {
		body string
		want float64
	}{
		{`{"progress":0.5}`, 0.5},
		{`{"progress":42}`, 0.42},
		{`{"progress":0}`, 0},
		{`{"progress":-3}`, 0},
		{`{"progress":1000}`, 0},
		{`{"status":"loading"}`, 0},
		{`not json`, 0},
		{`{"progress":"half"}`, 0},
	}
	for _, tt := range tests {
		if got := healthProgress([]byte(tt.body)); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("healthProgress(%s) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func FuzzHealthProgress(f *testing.F) {
	f.Add([]byte(`{"progress":0.5}`))
	f.Add([]byte(`{"progress":1e308}`))
	f.Add([]byte(`{"error":{"code":503},"progress":77}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if p := healthProgress(body); !(p >= 0 && p <= 1) {
			t.Fatalf("healthProgress(%q) = %v, outside [0, 1]", body, p)
		}
	})
}
