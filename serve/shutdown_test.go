package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination shared by the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// requestLogs are the "request" lines of a JSON log.
func requestLogs(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "tether serve: request" {
			out = append(out, m)
		}
	}
	return out
}

// A stream the server cuts at the end of its shutdown grace is logged and
// counted as the server's doing (503), with the tokens it had generated,
// not as a client's cancellation (499) of nothing.
func TestShutdownCutStreamAccounting(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", ""},
		{"/v1/completions", `{"prompt":"Once upon a time","stream":true,"max_tokens":-1,"ignore_eos":true}`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var logs syncBuffer
			ts := startServer(t, Config{ShutdownGrace: 100 * time.Millisecond, Engine: engineCtx(4096),
				Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			var body any = json.RawMessage(tc.body)
			if tc.body == "" {
				body = chatBody(map[string]any{"stream": true, "max_tokens": -1, "ignore_eos": true})
			}
			lines, _ := ts.sseLines(t, context.Background(), tc.path, body, "")
			// Some tokens are out before the shutdown begins.
			seen := 0
			for l := range lines {
				if strings.HasPrefix(l, "data:") {
					if seen++; seen == 5 {
						break
					}
				}
			}
			if err := ts.stop(t); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			for range lines {
			}
			var reqs []map[string]any
			for _, m := range requestLogs(t, logs.String()) {
				if m["endpoint"] == tc.path {
					reqs = append(reqs, m)
				}
			}
			if len(reqs) != 1 {
				t.Fatalf("%d request lines for %s; want 1:\n%s", len(reqs), tc.path, logs.String())
			}
			if st := reqs[0]["status"]; st != float64(503) {
				t.Errorf("a stream cut by the shutdown is logged with status %v; want 503", st)
			}
			if n, _ := reqs[0]["generated_tokens"].(float64); n < 3 {
				t.Errorf("a stream cut after at least 3 tokens is logged with %v generated tokens", reqs[0]["generated_tokens"])
			}
			var m bytes.Buffer
			ts.metrics.write(&m, gauges{})
			text := m.String()
			if !strings.Contains(text, `tether_requests_total{endpoint="`+tc.path+`",status="503"} 1`) || strings.Contains(text, `status="499"`) {
				t.Errorf("metrics do not count the cut stream as a 503:\n%s", text)
			}
			if strings.Contains(text, "\ntether_generated_tokens_total 0\n") {
				t.Errorf("metrics count no generated tokens for the cut stream")
			}
		})
	}
}
