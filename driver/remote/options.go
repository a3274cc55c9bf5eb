package remote

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Options configure [Dial] and, through [AnthropicOptions], [DialAnthropic].
// Only Endpoint is required.
type Options struct {
	// Endpoint is the server: "http://10.0.0.5:8000", "https://host/v1",
	// "unix:///run/llm.sock".
	Endpoint string

	// The API key comes from at most one of APIKey, APIKeyEnv and
	// APIKeyFile. It is sent as a bearer token (x-api-key for the
	// Messages API) and never logged or put in an error.
	//
	// APIKey is the key itself, for programs that hold it already;
	// configuration names where it is kept instead.
	APIKey string
	// APIKeyEnv names the environment variable that holds the key
	// ("OPENAI_API_KEY"). A variable that is unset or empty is an error.
	APIKeyEnv string
	// APIKeyFile is a file that holds the key (surrounding white space
	// is dropped). A missing or empty file is an error.
	APIKeyFile string

	// Model is the model to ask for; it must be one the server lists
	// (GET /v1/models), else Dial fails with an *llm.ModelNotFoundError
	// naming those it has. Empty means the server's first model.
	Model string
	// SkipModelCheck trusts Model without asking the server, for
	// endpoints without GET /v1/models. The context window then comes
	// from ContextWindow only.
	SkipModelCheck bool
	// Headers are sent with every request (a gateway's routing or
	// organisation headers). Like the key, they are never logged.
	Headers map[string]string
	// ToolMode says how tools travel (OpenAI-compatible servers only).
	// Default: native.
	ToolMode openai.ToolMode
	// ContextWindow is used when the server does not tell its own.
	ContextWindow int

	// Privacy is the tier enforced on every connection: sovereign allows
	// loopback addresses and unix sockets only, private adds
	// AllowedHosts and AllowedNetworks, standard allows anything. A
	// connection the tier forbids is never opened: the request fails
	// with an *llm.PrivacyError. 0 infers the tier from the endpoint
	// ([PrivacyOf]) and enforces that: an endpoint inferred private may
	// then reach private networks only (RFC 1918, unique-local IPv6,
	// CGNAT, link-local).
	Privacy llm.PrivacyTier
	// AllowedHosts are the hosts a private tier allows: names
	// ("gpu.internal"), domains (".corp.example" or "*.corp.example"
	// for every name under it) and addresses. A listed name is trusted
	// whatever it resolves to.
	AllowedHosts []string
	// AllowedNetworks are the networks a private tier allows; every
	// address a host resolves to must be in one of them, unless the host
	// is listed by name.
	AllowedNetworks []netip.Prefix
	// Resolver looks host names up, for the privacy check and for the
	// connection, which goes to an address it returned; nil means the
	// system's. Tests map names to addresses with it.
	Resolver Resolver

	// Timeouts bound the phases of each request.
	Timeouts Timeouts
	// Retry says how requests whose answer never began are sent again.
	Retry Retry
	// Timeout bounds each request as a whole, from sending it to the end
	// of the answer; 0 leaves it to the caller's context.
	Timeout time.Duration

	// Logger receives debug logs (never content, headers or the key);
	// nil discards them.
	Logger *slog.Logger
}

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Timeouts bound the phases of a request separately; 0 takes the
// default given, a negative value means no bound.
type Timeouts struct {
	// Connect bounds opening a connection. Default 10 s.
	Connect time.Duration
	// FirstByte bounds the wait from the request sent to the answer's
	// headers. Default: none — a long prompt can take minutes before a
	// server that streams answers at all; Idle bounds the stream.
	FirstByte time.Duration
	// Idle bounds each wait for more of an answer once its headers have
	// come: a stream that stalls. Default 5 min.
	Idle time.Duration
}

// The default timeouts.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
)

// Retry says how a request whose answer never began is sent again:
// after a connection refused, reset or timed out before the answer's
// headers, or an answer 408, 429, 500, 502, 503, 504 or 529. Other
// answers (400, 401, 404…) are final, and so is any failure once an
// answer has begun: its start may already be the caller's. Waits grow
// exponentially from Base, with jitter, up to MaxDelay; a server's
// Retry-After (seconds or a date) is waited for in full, unless it is
// longer than MaxDelay: the error, with its RetryAfter, is returned at
// once.
type Retry struct {
	// Attempts is how many times a request may be sent again; 0 means
	// DefaultRetryAttempts, a negative value never.
	Attempts int
	// Base is the first backoff; 0 means 500 ms.
	Base time.Duration
	// MaxDelay caps a wait; 0 means 30 s.
	MaxDelay time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests replace
	// it so that nothing waits on the clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetryAttempts is how many times a request is sent again when
// Retry.Attempts is 0.
const DefaultRetryAttempts = 2

// AnthropicOptions configure [DialAnthropic]: the Options every remote
// driver takes, and what only the Messages API has.
type AnthropicOptions struct {
	Options
	// Version is the anthropic-version header; empty means
	// "2023-06-01".
	Version string
	// MaxTokens bounds answers of requests that set none (the API
	// requires a bound); 0 means 4096.
	MaxTokens int
}
