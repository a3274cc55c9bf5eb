package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

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
	transport *http.Transport
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
	u, err := url.Parse(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("openai: base URL %q: %w", opts.BaseURL, err)
	}
	var socket string
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("openai: base URL %q has no host", opts.BaseURL)
		}
		c.local = isLoopback(u.Hostname())
	case "unix":
		socket = u.Path
		if socket == "" {
			return nil, fmt.Errorf("openai: base URL %q names no socket path (want unix:///path/to.sock)", opts.BaseURL)
		}
		// The host is only a name for the Host header; the dialer
		// ignores it.
		u = &url.URL{Scheme: "http", Host: "localhost"}
		c.local = true
	default:
		return nil, fmt.Errorf("openai: base URL %q: want http://, https:// or unix://", opts.BaseURL)
	}
	path := strings.TrimRight(u.Path, "/")
	root := u.Scheme + "://" + u.Host
	if strings.HasSuffix(path, "/v1") {
		c.root, c.apiRoot = root+strings.TrimSuffix(path, "/v1"), root+path
	} else {
		c.root, c.apiRoot = root+path, root+path+"/v1"
	}
	c.chatURL = c.apiRoot + "/chat/completions"
	c.modelsURL = c.apiRoot + "/models"
	c.transport = newTransport(socket)
	c.http = &http.Client{Transport: c.transport}
	return c, nil
}

// Info describes the client's model and server.
func (c *Client) Info() llm.Info {
	info := llm.Info{
		Model:         c.opts.Model,
		ContextWindow: c.opts.ContextWindow,
		Privacy:       c.opts.Privacy,
		Backend:       c.opts.Backend,
		Address:       c.opts.BaseURL,
	}
	if info.ContextWindow > 0 {
		info.ContextSource = "caller"
	}
	if info.Backend == "" {
		info.Backend = "remote"
	}
	if info.Privacy == 0 {
		info.Privacy = llm.Standard
		if c.local {
			info.Privacy = llm.Sovereign
		}
	}
	return info
}

// Close releases the client's idle connections. Later calls fail with an
// error wrapping [llm.ErrClosed]. It is safe to call more than once.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.transport.CloseIdleConnections()
	return nil
}

// errTimeout is the cause of a request's context when Options.Timeout
// ends it.
var errTimeout = errors.New("openai: request timeout")

// requestContext bounds a request by Options.Timeout.
func (c *Client) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.opts.Timeout > 0 {
		return context.WithTimeoutCause(ctx, c.opts.Timeout, errTimeout)
	}
	return context.WithCancel(ctx)
}

// abortError turns a failure during a request into the error the caller
// sees: the caller's own context error if it was cancelled, a transport
// error if Options.Timeout ran out, else err.
func (c *Client) abortError(parent, ctx context.Context, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		return perr
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		return &llm.TransportError{Op: op, Err: fmt.Errorf("no complete answer within %s", c.opts.Timeout)}
	}
	return err
}

// transportError wraps a failure to send or read a request.
func transportError(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &llm.TransportError{Op: op, Err: err}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
