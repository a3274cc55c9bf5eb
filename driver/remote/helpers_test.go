package remote

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
)

// fake is a recorded server: it lists models and answers every chat or
// messages request from the next of its answers (the last repeating).
type fake struct {
	*httptest.Server
	models  string
	answers []answer

	mu      sync.Mutex
	chats   int
	headers []http.Header
}

// answer is one recorded answer: a status, headers and a body, which
// a file in testdata may hold.
type answer struct {
	status int
	header map[string]string
	body   string
	file   string
	// cut ends the connection after the body instead of the answer.
	cut bool
}

func newFake(t *testing.T, models string, answers ...answer) *fake {
	t.Helper()
	f := &fake{models: models, answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.headers = append(f.headers, r.Header.Clone())
	if r.URL.Path == "/v1/models" {
		f.mu.Unlock()
		io.WriteString(w, f.models)
		return
	}
	n := f.chats
	f.chats++
	f.mu.Unlock()
	a := f.answers[min(n, len(f.answers)-1)]
	body := a.body
	if a.file != "" {
		data, err := os.ReadFile(a.file)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		body = string(data)
	}
	switch {
	case strings.HasSuffix(a.file, ".sse"), strings.HasPrefix(body, "data:"), strings.HasPrefix(body, "event:"):
		w.Header().Set("Content-Type", "text/event-stream")
	default:
		w.Header().Set("Content-Type", "application/json")
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.cut {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
	io.WriteString(w, body)
}

func (f *fake) chatCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chats
}

func (f *fake) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[len(f.headers)-1]
}

// waits records the waits a driver asks for, without waiting.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) got() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func testdata(name string) string { return filepath.Join("testdata", name) }

func openaiTestdata(name string) string { return filepath.Join("..", "..", "openai", "testdata", name) }

func hi() llm.Request { return llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}} }

// collect runs a stream to its end: the events' text, reasoning, calls,
// the final response and the error. A stream that ends well must keep
// the llm.Driver contract (llmtest.CheckStream): a violation is c.err.
type collected struct {
	text, reasoning string
	events          int
	resp            *llm.Response
	err             error
}

func collect(d llm.Driver, ctx context.Context, req llm.Request) collected {
	var (
		c   collected
		evs []llm.Event
	)
	for ev, err := range d.Stream(ctx, req) {
		if err != nil {
			c.err = err
			return c
		}
		evs = append(evs, ev)
		c.events++
		switch ev.Kind {
		case llm.EventTextDelta:
			c.text += ev.Text
		case llm.EventReasoningDelta:
			c.reasoning += ev.Text
		case llm.EventDone:
			c.resp = ev.Response
		}
	}
	if _, err := llmtest.CheckStream(llmtest.Replay(evs)); err != nil {
		c.err = err
	}
	return c
}
