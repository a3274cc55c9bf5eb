package serve

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the server's counters, exposed at /metrics in Prometheus's
// text format (version 0.0.4). Endpoint labels take only the server's own
// paths (others count as "other"), so a scan of random URLs cannot grow
// them without bound.
type metrics struct {
	mu        sync.Mutex
	requests  map[requestKey]uint64
	durations map[string]*histogram
	ttft      *histogram

	promptTokens    atomic.Uint64
	generatedTokens atomic.Uint64
	cancelled       atomic.Uint64
	rejected        atomic.Uint64
	inFlight        atomic.Int64
}

type requestKey struct {
	endpoint string
	status   int
}

// Buckets in seconds: from a health check to a long generation.
var (
	durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	ttftBuckets     = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

func newMetrics() *metrics {
	return &metrics{requests: map[requestKey]uint64{}, durations: map[string]*histogram{}, ttft: newHistogram(ttftBuckets)}
}

// request counts one answered request.
func (m *metrics) request(endpoint string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{endpoint, status}]++
	h := m.durations[endpoint]
	if h == nil {
		h = newHistogram(durationBuckets)
		m.durations[endpoint] = h
	}
	h.observe(d.Seconds())
	if status == http.StatusTooManyRequests {
		m.rejected.Add(1)
	}
}

// firstToken records the time from a generation request's arrival to its
// first output.
func (m *metrics) firstToken(d time.Duration) {
	m.mu.Lock()
	m.ttft.observe(d.Seconds())
	m.mu.Unlock()
}

// generation counts a finished or cancelled generation's tokens.
func (m *metrics) generation(prompt, generated int, cancelled bool) {
	m.promptTokens.Add(uint64(max(prompt, 0)))
	m.generatedTokens.Add(uint64(max(generated, 0)))
	if cancelled {
		m.cancelled.Add(1)
	}
}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

// gauges are the values read at scrape time.
type gauges struct {
	loaded              bool
	queued, active, all int
}

func (m *metrics) write(w io.Writer, g gauges) {
	var b strings.Builder
	help := func(name, typ, text string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, typ)
	}
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.endpoint, b.endpoint); c != 0 {
			return c
		}
		return a.status - b.status
	})
	help("tether_requests_total", "counter", "HTTP requests answered, by endpoint and status (499: the client went away).")
	for _, k := range keys {
		fmt.Fprintf(&b, "tether_requests_total{endpoint=%q,status=\"%d\"} %d\n", k.endpoint, k.status, m.requests[k])
	}
	help("tether_request_duration_seconds", "histogram", "Time from a request's arrival to the end of its answer, by endpoint.")
	endpoints := make([]string, 0, len(m.durations))
	for e := range m.durations {
		endpoints = append(endpoints, e)
	}
	slices.Sort(endpoints)
	for _, e := range endpoints {
		m.durations[e].write(&b, "tether_request_duration_seconds", fmt.Sprintf("endpoint=%q,", e))
	}
	help("tether_time_to_first_token_seconds", "histogram", "Time from a generation request's arrival to its first output, queueing and prompt included.")
	m.ttft.write(&b, "tether_time_to_first_token_seconds", "")
	m.mu.Unlock()

	counter := func(name, text string, v uint64) {
		help(name, "counter", text)
		fmt.Fprintf(&b, "%s %d\n", name, v)
	}
	gauge := func(name, text string, v int64) {
		help(name, "gauge", text)
		fmt.Fprintf(&b, "%s %d\n", name, v)
	}
	counter("tether_prompt_tokens_total", "Prompt tokens of generation requests.", m.promptTokens.Load())
	counter("tether_generated_tokens_total", "Tokens generated.", m.generatedTokens.Load())
	counter("tether_generations_cancelled_total", "Generations cancelled before their end because the client went away or the server shut down.", m.cancelled.Load())
	counter("tether_requests_rejected_total", "Generation requests refused with 429 because the queue was full.", m.rejected.Load())
	gauge("tether_requests_in_flight", "HTTP requests being handled, this scrape included.", m.inFlight.Load())
	gauge("tether_queue_depth", "Generation requests waiting for a slot.", int64(g.queued))
	gauge("tether_slots_active", "Slots generating.", int64(g.active))
	gauge("tether_slots_total", "Slots: generations that run at once.", int64(g.all))
	loaded := int64(0)
	if g.loaded {
		loaded = 1
	}
	gauge("tether_model_loaded", "1 once the model is loaded.", loaded)
	io.WriteString(w, b.String())
}

func (h *histogram) write(b *strings.Builder, name, labels string) {
	var cum uint64
	for i, c := range h.counts {
		cum += c
		le := "+Inf"
		if i < len(h.bounds) {
			le = strconv.FormatFloat(h.bounds[i], 'g', -1, 64)
		}
		fmt.Fprintf(b, "%s_bucket{%sle=%q} %d\n", name, labels, le, cum)
	}
	fmt.Fprintf(b, "%s_sum%s %s\n", name, braces(labels), formatFloat(h.sum))
	fmt.Fprintf(b, "%s_count%s %d\n", name, braces(labels), h.n)
}

func braces(labels string) string {
	if labels == "" {
		return ""
	}
	return "{" + strings.TrimSuffix(labels, ",") + "}"
}

func formatFloat(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// serveMetrics answers GET /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request, m *loadedModel) *apiError {
	g := gauges{all: max(s.cfg.Engine.Parallel, 1)}
	if m != nil {
		st := m.eng.Stats()
		g = gauges{loaded: true, queued: st.Queued, active: st.Active, all: st.Slots}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, g)
	return nil
}
