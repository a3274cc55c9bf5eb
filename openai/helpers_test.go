package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
)

// fixtureServer serves canned answers over real HTTP and records what
// clients send.
type fixtureServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	header []http.Header
}

// serveBytes answers every chat request with body, written in pieces of
// chunk bytes (0: all at once), each flushed, so that the client sees
// lines, tags and UTF-8 sequences cut between reads.
func serveBytes(t *testing.T, contentType string, body []byte, chunk int) *fixtureServer {
	t.Helper()
	fs := &fixtureServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		fs.mu.Lock()
		fs.bodies = append(fs.bodies, data)
		fs.header = append(fs.header, r.Header.Clone())
		fs.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		flusher := w.(http.Flusher)
		if chunk <= 0 {
			chunk = len(body) + 1
		}
		for rest := body; len(rest) > 0; {
			n := min(chunk, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			flusher.Flush()
			rest = rest[n:]
		}
	}))
	t.Cleanup(fs.Close)
	return fs
}

func serveFixture(t *testing.T, name string, chunk int) *fixtureServer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	ct := "text/event-stream"
	if strings.HasSuffix(name, ".json") {
		ct = "application/json"
	}
	return serveBytes(t, ct, data, chunk)
}

func (fs *fixtureServer) lastBody(t *testing.T) map[string]any {
	t.Helper()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.bodies) == 0 {
		t.Fatal("no request reached the server")
	}
	var v map[string]any
	if err := json.Unmarshal(fs.bodies[len(fs.bodies)-1], &v); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	return v
}

func newClient(t *testing.T, baseURL string, opts Options) *Client {
	t.Helper()
	opts.BaseURL = baseURL
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func simpleRequest() llm.Request {
	return llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}}
}

// streamResult is what a stream produced.
type streamResult struct {
	text, reasoning string
	starts          []llm.ToolCall
	ends            []llm.ToolCall
	kinds           []llm.EventKind
	resp            *llm.Response
	err             error
}

func collect(t *testing.T, c *Client, ctx context.Context, req llm.Request) streamResult {
	t.Helper()
	var r streamResult
	var text, reasoning strings.Builder
	var events []llm.Event
	for ev, err := range c.Stream(ctx, req) {
		if err == nil {
			events = append(events, ev)
		}
		if err != nil {
			if r.err != nil {
				t.Fatalf("second error %v after %v", err, r.err)
			}
			r.err = err
			continue
		}
		if r.err != nil || r.resp != nil {
			t.Fatalf("event %v after the end of the stream", ev.Kind)
		}
		r.kinds = append(r.kinds, ev.Kind)
		switch ev.Kind {
		case llm.EventTextDelta:
			text.WriteString(ev.Text)
		case llm.EventReasoningDelta:
			reasoning.WriteString(ev.Text)
		case llm.EventToolCallStart:
			r.starts = append(r.starts, *ev.ToolCall)
		case llm.EventToolCallEnd:
			r.ends = append(r.ends, *ev.ToolCall)
		case llm.EventDone:
			r.resp = ev.Response
		}
	}
	r.text, r.reasoning = text.String(), reasoning.String()
	if r.err == nil && r.resp == nil {
		t.Fatal("stream ended without EventDone or an error")
	}
	if r.err == nil {
		if _, err := llmtest.CheckStream(llmtest.Replay(events)); err != nil {
			t.Fatal(err)
		}
	}
	// Every end follows a start of the same call.
	started := map[string]string{}
	for _, s := range r.starts {
		if s.ID == "" || started[s.ID] != "" {
			t.Fatalf("bad or repeated start id %q", s.ID)
		}
		started[s.ID] = s.Name
	}
	for _, e := range r.ends {
		if started[e.ID] != e.Name {
			t.Fatalf("end of %s %q without its start", e.ID, e.Name)
		}
	}
	return r
}

func asError[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

func httptestServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
