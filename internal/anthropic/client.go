package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/internal/sse"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// DefaultVersion is the anthropic-version header sent when
// Options.Version is empty.
const DefaultVersion = "2023-06-01"

// DefaultMaxTokens bounds an answer when neither the request nor
// Options.MaxTokens does: the Messages API requires a bound.
const DefaultMaxTokens = 4096

// Options configure a [Client]. Only BaseURL is required.
type Options struct {
	// BaseURL is the server: "https://api.anthropic.com",
	// "http://127.0.0.1:8080" or "unix:///path/server.sock". A path ending
	// in /v1 is the API root; otherwise /v1 is added to it.
	BaseURL string
	// APIKey, if set, is sent as x-api-key.
	APIKey string
	// Model is the model name sent with each request.
	Model string
	// Version is the anthropic-version header; empty means
	// DefaultVersion.
	Version string
	// MaxTokens bounds answers of requests that set no MaxTokens; 0 means
	// DefaultMaxTokens.
	MaxTokens int
	// ReasoningInHistory sends the Reasoning of assistant messages back
	// as thinking blocks (with tether's digest as signature: Anthropic's
	// own API refuses them, tether serve reads them). Off by default.
	ReasoningInHistory bool
	// Timeout bounds each request, from sending it to the end of the
	// answer; 0 means no bound beyond the caller's context.
	Timeout time.Duration
	// Headers are sent with every request, before the key's header (a
	// gateway's own headers, an organisation id). They are never logged.
	Headers http.Header
	// Transport carries the requests; nil means a pooled transport for
	// BaseURL. driver/remote passes one that enforces a privacy tier,
	// timeouts and retries.
	Transport http.RoundTripper
	// Logger receives debug logs of requests (never their content or the
	// key); nil discards them.
	Logger *slog.Logger
	// IDs replaces missing or repeated tool-use ids; nil makes a fresh
	// source.
	IDs *toolcall.IDs

	// Backend, Privacy and ContextWindow fill Info. Backend defaults to
	// "remote"; Privacy defaults to Sovereign for loopback and unix-socket
	// servers and Standard otherwise.
	Backend       string
	Privacy       llm.PrivacyTier
	ContextWindow int
}

// Client talks to one server that speaks Anthropic's Messages API:
// Anthropic's, tether serve's /v1/messages, or a proxy. It is safe for
// concurrent use and implements [llm.Driver]; Close releases idle
// connections.
type Client struct {
	opts    Options
	apiRoot string
	http    *http.Client
	log     *slog.Logger
	ids     *toolcall.IDs
	local   bool
	closed  atomic.Bool
}

var _ llm.Driver = (*Client)(nil)

// New returns a client for the server at opts.BaseURL.
func New(opts Options) (*Client, error) {
	c := &Client{opts: opts, log: opts.Logger, ids: opts.IDs}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ids == nil {
		c.ids = toolcall.NewIDs()
	}
	if c.opts.Version == "" {
		c.opts.Version = DefaultVersion
	}
	if c.opts.MaxTokens <= 0 {
		c.opts.MaxTokens = DefaultMaxTokens
	}
	ep, err := httpapi.ParseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("anthropic: %w", err)
	}
	c.apiRoot, c.local = ep.APIRoot, ep.Local
	transport := opts.Transport
	if transport == nil {
		transport = httpapi.NewTransport(ep.Socket)
	}
	c.http = &http.Client{Transport: transport}
	return c, nil
}

// Info describes the client's model and server.
func (c *Client) Info() llm.Info {
	return httpapi.Info(llm.Info{Model: c.opts.Model, ContextWindow: c.opts.ContextWindow, Privacy: c.opts.Privacy, Backend: c.opts.Backend, Address: c.opts.BaseURL}, c.local)
}

// Close releases idle connections; later calls fail with an error
// wrapping [llm.ErrClosed].
func (c *Client) Close() error {
	c.closed.Store(true)
	c.http.CloseIdleConnections()
	return nil
}

// maxAnswer bounds a complete answer's body.
const maxAnswer = 256 << 20

// Complete sends the request and returns the whole answer.
func (c *Client) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return llm.CompleteFromStream(c.run(ctx, req, false))
}

// Stream sends the request and yields the answer's events as they
// arrive; see [llm.Driver.Stream].
func (c *Client) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return c.run(ctx, req, true)
}

// run sends one request, streamed or not, and yields its events. A
// complete answer yields the same events after it has arrived whole.
func (c *Client) run(ctx context.Context, req llm.Request, stream bool) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		body, err := c.body(req, stream)
		if err != nil {
			yield(llm.Event{}, err)
			return
		}
		rctx, cancel := c.requestContext(ctx)
		defer cancel()
		resp, err := c.post(ctx, rctx, "/messages", body, stream)
		if err != nil {
			yield(llm.Event{}, err)
			return
		}
		defer resp.Body.Close()
		d := NewDecoder(func(ev llm.Event) bool { return yield(ev, nil) }, c.ids)
		br := bufio.NewReaderSize(resp.Body, sse.BufferSize)
		if sse.IsEventStream(resp, br) {
			err = c.readStream(ctx, rctx, br, d)
		} else {
			err = c.readAnswer(ctx, rctx, br, d)
		}
		if err != nil && !d.Stopped() {
			c.log.Debug("anthropic: request failed", "err", err)
			yield(llm.Event{}, err)
		}
	}
}

// CountTokens asks the server how many input tokens the request's prompt
// (system, messages, tools) takes.
func (c *Client) CountTokens(ctx context.Context, req llm.Request) (int, error) {
	w, err := c.wireRequest(req)
	if err != nil {
		return 0, err
	}
	w.MaxTokens, w.StopSequences, w.Temperature, w.TopP, w.TopK = 0, nil, nil, nil, nil
	body, err := json.Marshal(w)
	if err != nil {
		return 0, &llm.RequestError{Reason: err.Error()}
	}
	rctx, cancel := c.requestContext(ctx)
	defer cancel()
	resp, err := c.post(ctx, rctx, "/messages/count_tokens", body, false)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, c.abortError(ctx, rctx, httpapi.TransportError("read answer", err))
	}
	var n TokenCount
	if err := json.Unmarshal(data, &n); err != nil {
		return 0, &llm.ProtocolError{Reason: "count_tokens answer is not JSON (" + httpapi.Snippet(data) + ")", Err: err}
	}
	return n.InputTokens, nil
}

func (c *Client) body(req llm.Request, stream bool) ([]byte, error) {
	w, err := c.wireRequest(req)
	if err != nil {
		return nil, err
	}
	w.Stream = stream
	b, err := json.Marshal(w)
	if err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	return b, nil
}

// wireRequest checks req and turns it into the API's request.
func (c *Client) wireRequest(req llm.Request) (*Request, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("anthropic: %w", llm.ErrClosed)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"min_p", req.MinP != nil}, {"repeat_penalty", req.RepeatPenalty != nil}, {"repeat_last_n", req.RepeatLastN != nil},
		{"seed", req.Seed != nil}, {"response_format", req.ResponseFormat != nil && req.ResponseFormat.Type != llm.FormatText},
	} {
		if f.set {
			return nil, &llm.RequestError{Reason: f.name + " is not part of the Messages API"}
		}
	}
	w := NewRequest(req, c.opts.ReasoningInHistory)
	w.Model = c.opts.Model
	if w.MaxTokens == 0 {
		w.MaxTokens = c.opts.MaxTokens
	}
	return w, nil
}

// NewRequest writes an llm request in the API's shape. System messages
// before the first other message join the system prompt; later ones
// become user text (the API has no system role in messages). Consecutive
// messages of one role share a message: a tool use joins the assistant
// message before it, tool results and user text the user message. Empty
// text is left out (the API refuses empty text blocks). With reasoning
// set, assistant Reasoning goes back as thinking blocks.
func NewRequest(req llm.Request, reasoning bool) *Request {
	w := &Request{MaxTokens: req.MaxTokens, StopSequences: req.Stop, Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK}
	var system []string
	if req.System != "" {
		system = append(system, req.System)
	}
	add := func(role string, b ContentBlock) {
		if b.Type == BlockText && b.Text == "" {
			return // the API refuses empty text blocks
		}
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, b)
			return
		}
		w.Messages = append(w.Messages, Message{Role: role, Content: Content{b}})
	}
	leading := true
	for _, m := range req.Messages {
		if m.Role == llm.RoleSystem && leading {
			system = append(system, m.Content)
			continue
		}
		leading = false
		switch m.Role {
		case llm.RoleSystem, llm.RoleUser:
			add("user", ContentBlock{Type: BlockText, Text: m.Content})
		case llm.RoleAssistant:
			if reasoning && m.Reasoning != "" {
				add("assistant", ContentBlock{Type: BlockThinking, Thinking: m.Reasoning, Signature: Signature(m.Reasoning)})
			}
			if m.Content != "" || len(m.ToolCalls) == 0 {
				add("assistant", ContentBlock{Type: BlockText, Text: m.Content})
			}
			for _, c := range m.ToolCalls {
				add("assistant", ContentBlock{Type: BlockToolUse, ID: c.ID, Name: c.Name, Input: compactOrEmpty(c.Input)})
			}
		case llm.RoleTool:
			r := m.ToolResult
			b := ContentBlock{Type: BlockToolResult, ToolUseID: r.ToolUseID, IsError: r.IsError}
			if r.Content != "" {
				b.Content = Content{{Type: BlockText, Text: r.Content}}
			}
			add("user", b)
		}
	}
	if len(system) > 0 {
		w.System = Content{{Type: BlockText, Text: strings.Join(system, "\n\n")}}
	}
	for _, t := range req.Tools {
		schema := t.InputSchema
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		w.Tools = append(w.Tools, Tool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	switch req.ToolChoice.Mode {
	case llm.ToolNone:
		w.ToolChoice = &ToolChoice{Type: "none"}
	case llm.ToolRequired:
		w.ToolChoice = &ToolChoice{Type: "any"}
	case llm.ToolNamed:
		w.ToolChoice = &ToolChoice{Type: "tool", Name: req.ToolChoice.Name}
	}
	return w
}

// requestContext bounds a request by Options.Timeout.
func (c *Client) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return httpapi.WithTimeout(ctx, c.opts.Timeout)
}

// abortError is the caller's own context error if it ended, a transport
// error if Options.Timeout ran out, else err.
func (c *Client) abortError(parent, ctx context.Context, err error) error {
	return httpapi.AbortError(parent, ctx, c.opts.Timeout, "request", err)
}

// post sends a request to path under the API root; a non-success answer
// becomes the matching error.
func (c *Client) post(parent, ctx context.Context, path string, body []byte, stream bool) (*http.Response, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiRoot+path, bytes.NewReader(body))
	if err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	hreq.Header.Set("Content-Type", "application/json")
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	c.setHeaders(hreq)
	c.log.Debug("anthropic: request", "url", hreq.URL.String(), "stream", stream)
	return httpapi.Do(parent, ctx, c.http, c.opts.Timeout, hreq, statusError)
}

// setHeaders sets the API version, Options.Headers and the key.
func (c *Client) setHeaders(hreq *http.Request) {
	hreq.Header.Set("anthropic-version", c.opts.Version)
	for k, v := range c.opts.Headers {
		hreq.Header[http.CanonicalHeaderKey(k)] = v
	}
	if c.opts.APIKey != "" {
		hreq.Header.Set("x-api-key", c.opts.APIKey)
	}
}

func (c *Client) readAnswer(parent, ctx context.Context, body io.Reader, d *Decoder) error {
	data, err := io.ReadAll(io.LimitReader(body, maxAnswer+1))
	if err != nil {
		return c.abortError(parent, ctx, httpapi.TransportError("read answer", err))
	}
	if len(data) > maxAnswer {
		return &llm.ProtocolError{Reason: fmt.Sprintf("answer larger than %d MiB", maxAnswer>>20)}
	}
	var r Response
	if err := json.Unmarshal(data, &r); err != nil {
		return &llm.ProtocolError{Reason: "answer is not a message (" + httpapi.Snippet(data) + ")", Err: err}
	}
	if r.Type == "error" {
		return streamError(parseError(data))
	}
	for _, ev := range r.Events() {
		if err := d.Add(ev); err != nil || d.Stopped() {
			return err
		}
	}
	return nil
}

var errTruncated = errors.New("stream ended before message_stop")

func (c *Client) readStream(parent, ctx context.Context, body io.Reader, d *Decoder) error {
	events := sse.NewReader(body)
	d.measure = true
	for !d.Done() {
		ev, err := events.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if perr := parent.Err(); perr != nil {
				return perr
			}
			var le *sse.LimitError
			if errors.As(err, &le) {
				return &llm.ProtocolError{Reason: err.Error()}
			}
			return c.abortError(parent, ctx, httpapi.TransportError("read stream", err))
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 {
			continue
		}
		var se StreamEvent
		if err := json.Unmarshal(data, &se); err != nil {
			return &llm.ProtocolError{Reason: "stream event is not JSON (" + httpapi.Snippet(data) + ")", Err: err}
		}
		if se.Type == "" {
			se.Type = ev.Name
		}
		if err := d.Add(se); err != nil {
			return err
		}
		if d.Stopped() {
			return nil
		}
	}
	if !d.Done() {
		if perr := parent.Err(); perr != nil {
			return perr
		}
		return &llm.TransportError{Op: "read stream", Err: errTruncated}
	}
	return nil
}
