//go:build unix

package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// detection is one measured start: how long after the server turned ready
// (by its own clock) readiness was declared; negative when it was declared
// before the server was ready.
type detection = time.Duration

// readyStamp reads the moment the fault server turned ready.
func readyStamp(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	ns, err := strconv.ParseInt(string(b), 10, 64)
	return time.Unix(0, ns), err
}

// seedWaitForReady is the seed's readiness loop (apr_serve.rs
// wait_for_ready): a TCP connect with a 200 ms timeout every 500 ms, and a
// check that the child is still alive, until 30 s have passed.
func seedWaitForReady(p *Process, addr string) error {
	start := time.Now()
	for {
		if time.Since(start) > 30*time.Second {
			return fmt.Errorf("did not become ready within 30s")
		}
		select {
		case <-p.Done():
			return fmt.Errorf("exited during startup")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// How readiness is detected.
const (
	byReadyLine = "readyline" // the state machine, woken by the "listening" line
	byPolling   = "polling"   // the state machine, polling only
	bySeed      = "seed"      // the seed's TCP loop
)

// measureReadiness launches the fault server with a random load of 200-700
// ms and measures detection by method.
func measureReadiness(tb testing.TB, method string, args ...string) detection {
	tb.Helper()
	stampFile := filepath.Join(tb.TempDir(), "ready")
	load := 200*time.Millisecond + rand.N(500*time.Millisecond)
	f := faultServer(tb, append(args, "--fault-load="+load.String(), "--fault-ready-file="+stampFile)...)
	if method == byPolling {
		f.cfg.ReadyLines = nil
	}
	var declared time.Time
	if method == bySeed {
		p, err := Start(f.cfg)
		if err != nil {
			tb.Fatal(err)
		}
		defer p.Stop(context.Background())
		if err := seedWaitForReady(p, "127.0.0.1:"+strconv.Itoa(f.port)); err != nil {
			tb.Fatal(err)
		}
		declared = time.Now()
		// Wait for the real moment if the seed declared ready early.
		for {
			if _, err := os.Stat(stampFile); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	} else {
		p, err := Launch(context.Background(), f.cfg)
		if err != nil {
			tb.Fatal(err)
		}
		declared = time.Now()
		defer p.Stop(context.Background())
	}
	at, err := readyStamp(stampFile)
	if err != nil {
		tb.Fatal(err)
	}
	return declared.Sub(at)
}

// BenchmarkReadinessDetection compares, side by side, how long after a
// server becomes ready each method says so:
//
//   - statemachine-readyline: Launch with HTTPHealth and ReadyLines against a
//     server that logs as llama-server does ("server is listening on …"
//     when loaded), which wakes the prober;
//   - statemachine-polling: the same without ReadyLines: polling alone
//     (1 ms, backing off by half to 100 ms);
//   - seed-tcp-500ms: the seed's loop against a server that binds its port
//     only once loaded — the best case for a TCP check;
//   - seed-tcp-500ms-bind-first: the seed's loop against a server that
//     binds first and loads after, as llama-server does: readiness is
//     declared before the model is loaded (negative latency, bug 4).
//
// Run: go test -run=^$ -bench=ReadinessDetection -benchtime=20x ./supervisor
func BenchmarkReadinessDetection(b *testing.B) {
	cases := []struct {
		name   string
		method string
		args   []string
	}{
		{"statemachine-readyline", byReadyLine, nil},
		{"statemachine-polling", byPolling, nil},
		{"seed-tcp-500ms", bySeed, []string{"--fault-bind=after-load"}},
		{"seed-tcp-500ms-bind-first", bySeed, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var got []time.Duration
			for b.Loop() {
				got = append(got, measureReadiness(b, c.method, c.args...))
			}
			slices.Sort(got)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(got[len(got)/2]), "p50-ms")
			b.ReportMetric(ms(got[len(got)-1]), "max-ms")
			b.ReportMetric(ms(got[0]), "min-ms")
			premature := 0
			for _, d := range got {
				if d < 0 {
					premature++
				}
			}
			b.ReportMetric(100*float64(premature)/float64(len(got)), "premature-%")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestReadinessDetectedWithinMilliseconds keeps the state machine honest:
// a server that announces readiness is seen at once, and one that does not
// within the polling cap.
func TestReadinessDetectedWithinMilliseconds(t *testing.T) {
	tests := []struct {
		name   string
		method string
		bound  time.Duration
	}{
		{"announced", byReadyLine, 50 * time.Millisecond},
		{"polled", byPolling, 2*DefaultPollMax + 50*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []time.Duration
			for range 5 {
				got = append(got, measureReadiness(t, tt.method))
			}
			slices.Sort(got)
			t.Logf("detection latencies %v", got)
			if got[0] < 0 {
				t.Fatalf("readiness declared %v before the server was ready", -got[0])
			}
			if median := got[len(got)/2]; median > tt.bound {
				t.Fatalf("median detection latency %v, want under %v", median, tt.bound)
			}
		})
	}
}

// TestProbingDoesNotStorm: a server that logs every request (as llama-server
// did before it stopped logging health checks) must not make the prober
// probe again for each of its own echoes.
func TestProbingDoesNotStorm(t *testing.T) {
	const load = time.Second
	f := faultServer(t, "--fault-load="+load.String(), "--fault-steps=1", "--fault-no-progress")
	f.launch(t)
	var info struct {
		Requests int `json:"requests"`
	}
	_, body, err := f.get(context.Background(), "/fault/info")
	if err != nil || json.Unmarshal(body, &info) != nil {
		t.Fatalf("/fault/info: %s %v", body, err)
	}
	// Backing off from 1 ms by half to 100 ms takes about 20 probes in a
	// second; each ready check adds a few requests.
	if limit := 40; info.Requests > limit {
		t.Fatalf("%d requests during a %v load, want at most %d", info.Requests, load, limit)
	}
	t.Logf("%d requests during a %v load", info.Requests, load)
}
