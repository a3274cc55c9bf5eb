package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/internal/sse"
	"github.com/tetherllm/tether/llm"
)

// maxAnswer bounds a complete (not streamed) answer's body, and a
// streamed one when the request sets no max_tokens.
const maxAnswer = 256 << 20

// A streamed answer to a request with max_tokens is bounded by
// streamBase plus streamPerToken bytes for each token: a chunk of one
// token with its JSON envelope is a few hundred bytes, so only a server
// that keeps streaming past max_tokens (or without end) reaches it.
const (
	streamBase     = 1 << 20
	streamPerToken = 16 << 10
)

// streamLimit is how many bytes of SSE body the answer to req may take.
func streamLimit(req llm.Request) int64 {
	if req.MaxTokens <= 0 || int64(req.MaxTokens) > (maxAnswer-streamBase)/streamPerToken {
		return maxAnswer
	}
	return streamBase + int64(req.MaxTokens)*streamPerToken
}

// streamTooLongError ends a stream longer than [streamLimit] allows.
type streamTooLongError struct {
	limit     int64
	maxTokens int
}

func (e *streamTooLongError) Error() string {
	if e.maxTokens > 0 {
		return fmt.Sprintf("answer longer than %d KiB for max_tokens %d: the server does not stop", e.limit>>10, e.maxTokens)
	}
	return fmt.Sprintf("answer longer than %d MiB", e.limit>>20)
}

// boundedBody reads a stream body and fails with a *streamTooLongError
// once it has given more than the limit.
type boundedBody struct {
	r    io.Reader
	left int64
	err  *streamTooLongError
}

func newBoundedBody(r io.Reader, req llm.Request) *boundedBody {
	limit := streamLimit(req)
	return &boundedBody{r: r, left: limit, err: &streamTooLongError{limit: limit, maxTokens: req.MaxTokens}}
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// Complete sends the request and returns the whole answer.
func (c *Client) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if err := c.check(req); err != nil {
		return nil, err
	}
	rctx, cancel := c.requestContext(ctx)
	defer cancel()
	start := time.Now()
	resp, err := c.post(ctx, rctx, req, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	t := newTurn(c, req, start, nil)
	body := bufio.NewReaderSize(newBoundedBody(resp.Body, req), sse.BufferSize)
	if sse.IsEventStream(resp, body) { // a server that streams anyway
		out, err := c.readStream(ctx, rctx, body, t)
		c.logDone(start, err)
		return out, err
	}
	data, err := c.readBody(ctx, rctx, body)
	if err != nil {
		return nil, err
	}
	out, err := c.readAnswer(data, t)
	c.logDone(start, err)
	return out, err
}

// Stream sends the request and yields the answer's events as they arrive;
// see [llm.Driver.Stream].
func (c *Client) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		if err := c.check(req); err != nil {
			yield(llm.Event{}, err)
			return
		}
		rctx, cancel := c.requestContext(ctx)
		defer cancel()
		start := time.Now()
		resp, err := c.post(ctx, rctx, req, true)
		if err != nil {
			yield(llm.Event{}, err)
			return
		}
		defer resp.Body.Close()
		t := newTurn(c, req, start, func(ev llm.Event) bool { return yield(ev, nil) })
		body := bufio.NewReaderSize(newBoundedBody(resp.Body, req), sse.BufferSize)
		if sse.IsEventStream(resp, body) {
			_, err = c.readStream(ctx, rctx, body, t)
			if err == nil && !t.stopped {
				drain(resp.Body, cancel)
			}
		} else {
			// A server that ignored "stream": read the whole answer; the
			// turn still emits its events.
			var data []byte
			if data, err = c.readBody(ctx, rctx, body); err == nil {
				_, err = c.readAnswer(data, t)
			}
		}
		c.logDone(start, err)
		if err != nil && !t.stopped {
			yield(llm.Event{}, err)
		}
	}
}

func (c *Client) check(req llm.Request) error {
	if c.closed.Load() {
		return fmt.Errorf("openai: %w", llm.ErrClosed)
	}
	if c.opts.ToolMode == ToolsText && (req.ToolChoice.Mode == llm.ToolRequired || req.ToolChoice.Mode == llm.ToolNamed) {
		// Only a server's native tool calls can be forced.
		return &llm.RequestError{Reason: fmt.Sprintf("tool_choice %s needs native tool calls; this client describes tools in text", req.ToolChoice)}
	}
	return req.Validate()
}

// post sends a chat request and returns a successful answer; anything
// else becomes the matching error.
func (c *Client) post(parent, ctx context.Context, req llm.Request, stream bool) (*http.Response, error) {
	body, err := json.Marshal(c.buildRequest(req, stream))
	if err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.chatURL, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	hreq.Header.Set("Content-Type", "application/json")
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	c.authorize(hreq)
	c.log.Debug("openai: request", "url", c.chatURL, "stream", stream, "messages", len(req.Messages), "tools", len(req.Tools), "mode", c.opts.ToolMode)
	return c.do(parent, ctx, hreq)
}

func (c *Client) authorize(r *http.Request) {
	for k, v := range c.opts.Headers {
		r.Header[http.CanonicalHeaderKey(k)] = v
	}
	if c.opts.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}
}

// do sends a request; a non-success answer becomes the matching error.
func (c *Client) do(parent, ctx context.Context, hreq *http.Request) (*http.Response, error) {
	return httpapi.Do(parent, ctx, c.http, c.opts.Timeout, hreq, statusError)
}

func (c *Client) logDone(start time.Time, err error) {
	if err != nil {
		c.log.Debug("openai: request failed", "elapsed", time.Since(start), "err", err)
		return
	}
	c.log.Debug("openai: request done", "elapsed", time.Since(start))
}

// drain reads what is left of a finished stream (normally just the end of
// the chunked body) so that its connection goes back to the pool, giving
// up quickly on a server that keeps the stream open after [DONE].
func drain(body io.Reader, cancel context.CancelFunc) {
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 256<<10))
}

// readBody reads a whole (not streamed) answer, at most maxAnswer bytes
// (and no more than the request's stream limit).
func (c *Client) readBody(parent, ctx context.Context, body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, maxAnswer+1))
	var long *streamTooLongError
	switch {
	case errors.As(err, &long):
		return nil, &llm.ProtocolError{Reason: long.Error()}
	case err != nil:
		return nil, c.abortError(parent, ctx, "read answer", httpapi.TransportError("read answer", err))
	case len(data) > maxAnswer:
		return nil, &llm.ProtocolError{Reason: fmt.Sprintf("answer larger than %d MiB", maxAnswer>>20)}
	}
	return data, nil
}

// readAnswer reads a complete (not streamed) answer.
func (c *Client) readAnswer(data []byte, t *turn) (*llm.Response, error) {
	var r oaiwire.ChatCompletion
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, &llm.ProtocolError{Reason: "answer is not JSON (" + httpapi.Snippet(data) + ")", Err: err}
	}
	if info, ok := errorObject(&r); ok {
		return nil, streamError(info)
	}
	if len(r.Choices) == 0 {
		return nil, &llm.ProtocolError{Reason: "answer has no choices"}
	}
	ch := &r.Choices[0]
	if ch.Message != nil {
		t.apply(ch.Message.Delta())
	}
	t.setChoice(ch)
	t.setUsage(&r)
	return t.done()
}

var errTruncated = errors.New("stream ended before the answer did (no [DONE] and no finish_reason)")

// readStream reads an SSE answer to its end.
func (c *Client) readStream(parent, ctx context.Context, body io.Reader, t *turn) (*llm.Response, error) {
	const op = "read stream"
	events := sse.NewReader(body)
	sawDone := false
	for !sawDone {
		ev, err := events.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if perr := parent.Err(); perr != nil {
				return nil, perr
			}
			if ctx.Err() == nil && !isReadError(err) {
				return nil, &llm.ProtocolError{Reason: err.Error()}
			}
			return nil, c.abortError(parent, ctx, op, httpapi.TransportError(op, err))
		}
		sawDone, err = c.handleEvent(ev, t)
		if err != nil {
			return nil, err
		}
		if t.stopped {
			return nil, nil
		}
	}
	if !sawDone && t.finish == "" {
		if perr := parent.Err(); perr != nil {
			return nil, perr
		}
		return nil, &llm.TransportError{Op: op, Err: errTruncated}
	}
	return t.done()
}

// isReadError tells a failure of the connection from a malformed or
// endless stream.
func isReadError(err error) bool {
	var (
		pe *sse.LimitError
		le *streamTooLongError
	)
	return !errors.As(err, &pe) && !errors.As(err, &le)
}

// handleEvent applies one SSE event. It reports whether the event was
// [DONE].
func (c *Client) handleEvent(ev sse.Event, t *turn) (done bool, err error) {
	data := bytes.TrimSpace(ev.Data)
	if string(data) == "[DONE]" {
		return true, nil
	}
	var chunk oaiwire.ChatCompletion
	if err := json.Unmarshal(data, &chunk); err != nil {
		if ev.Name == "error" {
			return false, streamError(errorInfo{Message: httpapi.Snippet(data)})
		}
		// Data lines of several chunks run together when a server leaves
		// out the blank lines between events: read them one by one.
		lines := bytes.Split(data, []byte("\n"))
		if len(lines) == 1 {
			if len(data) == 0 {
				return false, nil // an empty data line: a keep-alive
			}
			// A chunk that does not parse may have held text or a tool
			// call: going on without it would return a wrong answer.
			return false, &llm.ProtocolError{Reason: "stream chunk is not JSON (" + httpapi.Snippet(data) + ")", Err: err}
		}
		for _, line := range lines {
			if done, err := c.handleEvent(sse.Event{Name: ev.Name, Data: line}, t); done || err != nil || t.stopped {
				return done, err
			}
		}
		return false, nil
	}
	if info, ok := errorObject(&chunk); ok {
		return false, streamError(info)
	}
	for i := range chunk.Choices {
		ch := &chunk.Choices[i]
		if ch.Index != 0 {
			continue // only the first choice is asked for
		}
		if ch.Delta != nil {
			t.apply(ch.Delta)
		}
		t.setChoice(ch)
	}
	t.setUsage(&chunk)
	return false, nil
}
