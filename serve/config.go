package serve

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetherllm/tether/engine"
)

// Config configures a [Server]. Only Model is required.
type Config struct {
	// Model is the GGUF file to serve.
	Model string
	// Alias is the model's id in the API; "" means the file name without
	// its extension. It names the model in /v1/models and in every
	// answer's "model" field.
	Alias string
	// StrictModel makes a request that names a model other than the
	// served one (its id, file name or path) a 404 model_not_found.
	// Without it any name is accepted, as llama-server does: one model is
	// served, and clients with a hard-coded name ("gpt-4o-mini") work.
	StrictModel bool
	// Engine sizes the engine: context length per slot, parallel slots,
	// threads.
	Engine engine.Options
	// APIKey, if set, is required as "Authorization: Bearer KEY" (or
	// "X-Api-Key: KEY") on every endpoint but /health and /v1/models[/{id}].
	APIKey string
	// CORSOrigins are the origins browsers may call the server from:
	// "*" for any, or scheme://host[:port] as a browser sends it
	// ("http://localhost:3000"). Empty, the default, turns CORS off: no
	// CORS headers are sent and a preflight is answered 405.
	CORSOrigins []string
	// AllowedHosts are Host header names, beyond loopback's (localhost,
	// *.localhost, 127.0.0.0/8, ::1, with any port), that a server bound
	// to a loopback address answers; "*" turns the check off. Requests
	// naming any other host are answered 403, a guard against DNS
	// rebinding. A server bound to another address, or to a unix socket,
	// is not checked.
	AllowedHosts []string
	// MaxQueue is how many generation requests may wait for a slot beyond
	// those running; more are answered 429 with Retry-After. 0 means 256;
	// -1 means none may wait.
	MaxQueue int
	// MaxBodyBytes bounds a request body; larger ones are answered 413.
	// 0 means 32 MiB.
	MaxBodyBytes int64
	// MaxRequestMemory bounds the memory the requests the server holds
	// may take together, as estimated from their bodies: each is charged
	// 8 bytes per byte of its body (the body, its text, the rendered
	// prompt) from the moment it arrives until it is answered. A request
	// that does not fit is answered 503 (529 on the Messages API) with
	// Retry-After. 0 means a quarter of the machine's memory, and at
	// least what one body of MaxBodyBytes takes; -1 means no bound.
	MaxRequestMemory int64
	// PingInterval is how often a streamed answer that has nothing to
	// send (waiting for a slot, reading a long prompt) sends an SSE
	// comment, so that proxies keep the connection. 0 means 5 s.
	PingInterval time.Duration
	// ShutdownGrace is how long in-flight requests may run on after the
	// server is asked to stop; then they are cancelled. 0 means 10 s.
	ShutdownGrace time.Duration
	// Logger receives one line per request (method, path, status,
	// tokens, duration — never request or answer content) and the
	// server's events. nil discards them.
	Logger *slog.Logger
	// Build describes the program for /props, e.g. "tether v1.2.0".
	Build string
}

const (
	defaultMaxQueue     = 256
	defaultMaxBody      = 32 << 20
	defaultPingInterval = 5 * time.Second
	defaultGrace        = 10 * time.Second
)

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Model == "":
		return c, errors.New("serve: no model file given")
	case c.MaxQueue < -1:
		return c, fmt.Errorf("serve: max queue %d must be -1 (no waiting), 0 (the default) or more", c.MaxQueue)
	case c.MaxBodyBytes < 0:
		return c, fmt.Errorf("serve: body limit %d must not be negative", c.MaxBodyBytes)
	case c.MaxRequestMemory < -1:
		return c, fmt.Errorf("serve: request memory %d must be -1 (no bound), 0 (the default) or more", c.MaxRequestMemory)
	case c.PingInterval < 0 || c.ShutdownGrace < 0:
		return c, errors.New("serve: durations must not be negative")
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = defaultMaxQueue
	} else if c.MaxQueue == -1 {
		c.MaxQueue = 0
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = defaultMaxBody
	}
	switch one := c.MaxBodyBytes * requestMemoryPerByte; {
	case c.MaxRequestMemory == 0:
		c.MaxRequestMemory = max(defaultRequestMemory(), one)
	case c.MaxRequestMemory > 0 && c.MaxRequestMemory < one:
		// A body the size limit lets in must fit on its own, or its
		// request would be refused forever.
		return c, fmt.Errorf("serve: request memory %d is less than one body of the %d-byte limit takes (%d); raise it or lower the body limit",
			c.MaxRequestMemory, c.MaxBodyBytes, one)
	}
	if c.PingInterval == 0 {
		c.PingInterval = defaultPingInterval
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = defaultGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Build == "" {
		c.Build = "tether"
	}
	return c, nil
}
