package openai

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// endlessServer answers with a body that never ends: SSE text chunks,
// or a JSON answer whose content string never closes.
func endlessServer(t *testing.T, contentType string) *httptest.Server {
	t.Helper()
	head := []byte(`{"choices":[{"index":0,"message":{"content":"`)
	chunk := []byte(strings.Repeat("x", 4000))
	if contentType == "text/event-stream" {
		head = nil
		chunk = []byte(`data: {"choices":[{"index":0,"delta":{"content":"more "}}]}` + "\n\n")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(head)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEndlessStreamIsBoundedByMaxTokens(t *testing.T) {
	srv := endlessServer(t, "text/event-stream")
	c := newClient(t, srv.URL, Options{})
	req := simpleRequest()
	req.MaxTokens = 16
	limit := streamLimit(req)

	r := collect(t, c, context.Background(), req)
	var pe *llm.ProtocolError
	if !errors.As(r.err, &pe) || !strings.Contains(pe.Error(), "max_tokens 16") {
		t.Fatalf("err = %v, want a ProtocolError naming max_tokens", r.err)
	}
	if int64(len(r.text)) > limit {
		t.Fatalf("%d bytes of text passed a limit of %d", len(r.text), limit)
	}

	_, err := c.Complete(context.Background(), req)
	if !errors.As(err, &pe) {
		t.Fatalf("Complete: err = %v, want a ProtocolError", err)
	}
}

func TestEndlessJSONAnswerToAStreamIsBounded(t *testing.T) {
	srv := endlessServer(t, "application/json")
	c := newClient(t, srv.URL, Options{})
	req := simpleRequest()
	req.MaxTokens = 4
	r := collect(t, c, context.Background(), req)
	var pe *llm.ProtocolError
	if !errors.As(r.err, &pe) {
		t.Fatalf("err = %v, want a ProtocolError", r.err)
	}
}

func TestStreamLimit(t *testing.T) {
	for _, c := range []struct {
		maxTokens int
		want      int64
	}{
		{0, maxAnswer},
		{1, streamBase + streamPerToken},
		{1024, streamBase + 1024*streamPerToken},
		{1 << 30, maxAnswer},
	} {
		if got := streamLimit(llm.Request{MaxTokens: c.maxTokens}); got != c.want {
			t.Errorf("streamLimit(max_tokens %d) = %d, want %d", c.maxTokens, got, c.want)
		}
	}
}

func TestBrokenChunkIsAProtocolError(t *testing.T) {
	body := `data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}` + "\n\n" +
		`data: {broken` + "\n\n" +
		`data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	fs := serveBytes(t, "text/event-stream", []byte(body), 0)
	c := newClient(t, fs.URL, Options{})
	r := collect(t, c, context.Background(), simpleRequest())
	var pe *llm.ProtocolError
	if !errors.As(r.err, &pe) || !strings.Contains(pe.Error(), "{broken") {
		t.Fatalf("err = %v (text %q), want a ProtocolError quoting the chunk", r.err, r.text)
	}
	if _, err := c.Complete(context.Background(), simpleRequest()); !errors.As(err, &pe) {
		t.Fatalf("Complete: err = %v, want a ProtocolError", err)
	}
}

func TestEmptyDataLineIsSkipped(t *testing.T) {
	body := "data:\n\n" + `data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"
	fs := serveBytes(t, "text/event-stream", []byte(body), 0)
	r := collect(t, newClient(t, fs.URL, Options{}), context.Background(), simpleRequest())
	if r.err != nil || r.text != "ok" {
		t.Fatalf("text %q, err %v", r.text, r.err)
	}
}
