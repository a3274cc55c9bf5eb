package openai

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// ToolMode says how tools travel between client and server.
type ToolMode int

const (
	// ToolsNative sends the tools in the request's "tools" field and reads
	// the answer's tool_calls. If the server returns none, calls written
	// as text in the <tool_call> protocol are used instead (servers whose
	// chat template cannot parse calls return them as text).
	ToolsNative ToolMode = iota
	// ToolsText describes the tools in the system prompt, renders the
	// history's calls and results as <tool_call> and <tool_result>
	// blocks, and parses calls out of the answer text, as the seed does.
	ToolsText
)

func (m ToolMode) String() string {
	if m == ToolsText {
		return "text"
	}
	return "native"
}

// Options configure a [Client]. Only BaseURL is required.
type Options struct {
	// BaseURL is the server: "http://127.0.0.1:8080", "https://host/v1",
	// or "unix:///path/server.sock". A path ending in /v1 is the API root;
	// otherwise /v1 is added to it.
	BaseURL string
	// APIKey, if set, is sent as a bearer token.
	APIKey string
	// Model is the model name sent with each request; empty leaves it out
	// (servers with one model use that one).
	Model string
	// ToolMode says how tools travel; the zero value is ToolsNative.
	ToolMode ToolMode
	// ReasoningStartsOpen says the chat template opens a <think> block in
	// the prompt, so inline output is reasoning until </think>. It is
	// ignored for an answer whose reasoning the server sends apart.
	ReasoningStartsOpen bool
	// ReasoningInHistory sends the Reasoning of assistant messages back to
	// the server (as reasoning_content, or as a <think> block in text
	// mode). Most chat templates drop it anyway; off by default.
	ReasoningInHistory bool
	// Timeout bounds each request, streamed or not, from sending it to the
	// end of the answer; 0 means no bound beyond the caller's context.
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
	// IDs numbers tool calls that come without a server id; nil makes a
	// fresh source. Share one between clients whose calls end up in one
	// conversation.
	IDs *toolcall.IDs

	// Backend, Privacy and ContextWindow fill Info. Backend defaults to
	// "remote"; Privacy defaults to Sovereign for loopback and unix-socket
	// servers and Standard otherwise.
	Backend       string
	Privacy       llm.PrivacyTier
	ContextWindow int
}

// Client talks to one OpenAI-compatible server. It is safe for
// concurrent use. It implements [llm.Driver]; Close releases idle
// connections but stops no server.
type Client struct {
	opts      Options
	apiRoot   string // e.g. http://127.0.0.1:8080/v1
	root      string // the server root, for probes such as /health
	chatURL   string
	modelsURL string
	http      *http.Client
	log       *slog.Logger
	ids       *toolcall.IDs
	local     bool
	closed    atomic.Bool
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
	ep, err := httpapi.ParseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	c.root, c.apiRoot, c.local = ep.Root, ep.APIRoot, ep.Local
	c.chatURL = c.apiRoot + "/chat/completions"
	c.modelsURL = c.apiRoot + "/models"
	transport := opts.Transport
	if transport == nil {
		transport = httpapi.NewTransport(ep.Socket)
	}
	c.http = &http.Client{Transport: transport}
	return c, nil
}

// Info describes the client's model and server.
func (c *Client) Info() llm.Info {
	return httpapi.Info(llm.Info{
		Model:         c.opts.Model,
		ContextWindow: c.opts.ContextWindow,
		Privacy:       c.opts.Privacy,
		Backend:       c.opts.Backend,
		Address:       c.opts.BaseURL,
	}, c.local)
}

// Close releases the client's idle connections. Later calls fail with an
// error wrapping [llm.ErrClosed]. It is safe to call more than once.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.http.CloseIdleConnections()
	return nil
}

// requestContext bounds a request by Options.Timeout.
func (c *Client) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return httpapi.WithTimeout(ctx, c.opts.Timeout)
}

// abortError turns a failure during a request into the error the caller
// sees: the caller's own context error if it was cancelled, a transport
// error if Options.Timeout ran out, else err.
func (c *Client) abortError(parent, ctx context.Context, op string, err error) error {
	return httpapi.AbortError(parent, ctx, c.opts.Timeout, op, err)
}
