package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Dial attaches to a running OpenAI-compatible server: it reads the key,
// checks the endpoint against the privacy tier, asks the server for its
// models (to check Options.Model, or to pick the first, and to learn the
// context window) and returns the driver.
func Dial(ctx context.Context, o Options) (*Driver, error) {
	s, err := o.setup(ctx)
	if err != nil {
		return nil, err
	}
	base := openai.Options{
		BaseURL: o.Endpoint, APIKey: s.key, Model: o.Model, ToolMode: o.ToolMode, Timeout: o.Timeout,
		Headers: s.headers, Transport: s.transport, Logger: o.Logger,
		Backend: "remote", Privacy: s.tier, ContextWindow: o.ContextWindow,
	}
	window, source := o.ContextWindow, "caller"
	if !o.SkipModelCheck {
		lister, err := openai.New(base)
		if err != nil {
			return nil, endpointError(o.Endpoint, err)
		}
		m, err := listed(ctx, &o, lister.Models, func(m openai.Model) string { return m.ID })
		if err != nil {
			return nil, err
		}
		base.Model = m.ID
		if m.ContextLength > 0 {
			window, source = m.ContextLength, "server"
		}
	}
	base.ContextWindow = window
	c, err := openai.New(base)
	if err != nil {
		return nil, endpointError(o.Endpoint, err)
	}
	info := c.Info()
	if window > 0 {
		info.ContextSource = source
	}
	return &Driver{api: c, info: info}, nil
}

// DialAnthropic attaches to a server that speaks Anthropic's Messages
// API (Anthropic's own, tether serve, a proxy) the way [Dial] does. The
// API tells no context window: it is Options.ContextWindow.
func DialAnthropic(ctx context.Context, o AnthropicOptions) (*Driver, error) {
	s, err := o.setup(ctx)
	if err != nil {
		return nil, err
	}
	base := anthropic.Options{
		BaseURL: o.Endpoint, APIKey: s.key, Model: o.Model, Version: o.Version, MaxTokens: o.MaxTokens,
		Timeout: o.Timeout, Headers: s.headers, Transport: s.transport, Logger: o.Logger,
		Backend: "anthropic", Privacy: s.tier, ContextWindow: o.ContextWindow,
	}
	if !o.SkipModelCheck {
		lister, err := anthropic.New(base)
		if err != nil {
			return nil, endpointError(o.Endpoint, err)
		}
		m, err := listed(ctx, &o.Options, lister.Models, func(m anthropic.Model) string { return m.ID })
		if err != nil {
			return nil, err
		}
		base.Model = m.ID
	} else if o.Model == "" {
		return nil, &llm.ConfigError{Setting: "model", Value: "", Reason: "the Messages API needs a model name when the model list is not asked for"}
	}
	c, err := anthropic.New(base)
	if err != nil {
		return nil, endpointError(o.Endpoint, err)
	}
	return &Driver{api: c, info: c.Info()}, nil
}

// listed asks the server for its models and picks o.Model among them
// (the first when o.Model is ""); id names a model.
func listed[M any](ctx context.Context, o *Options, list func(context.Context) ([]M, error), id func(M) string) (M, error) {
	var none M
	models, err := list(ctx)
	if err != nil {
		return none, fmt.Errorf("%s: listing models: %w", redact(o.Endpoint), err)
	}
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = id(m)
	}
	i, err := pick(o.Endpoint, o.Model, ids)
	if err != nil {
		return none, err
	}
	return models[i], nil
}

// setup is what every remote driver needs before its client: the key,
// the enforced tier, and the transport that enforces it.
type setup struct {
	key       string
	tier      llm.PrivacyTier
	headers   http.Header
	transport *httpapi.Transport
}

func (o *Options) setup(ctx context.Context) (*setup, error) {
	ep, err := httpapi.ParseBaseURL(o.Endpoint)
	if err != nil {
		return nil, endpointError(o.Endpoint, err)
	}
	key, err := o.apiKey()
	if err != nil {
		return nil, err
	}
	egress, err := o.egress()
	if err != nil {
		return nil, err
	}
	if ep.Socket == "" {
		// A forbidden endpoint is refused by Dial rather than at its
		// first request; every dial is checked again.
		u, _ := url.Parse(o.Endpoint)
		if _, err := egress.Check(ctx, u.Hostname()); err != nil {
			var pe *llm.PrivacyError
			if errors.As(err, &pe) {
				return nil, pe
			}
			return nil, &llm.TransportError{Op: "resolve " + u.Hostname(), Err: err}
		}
	}
	s := &setup{key: key, tier: egress.Tier}
	if len(o.Headers) > 0 {
		s.headers = http.Header{}
		for k, v := range o.Headers {
			s.headers.Set(k, v)
		}
	}
	s.transport = httpapi.NewGuardedTransport(httpapi.TransportOptions{
		Socket:   ep.Socket,
		Egress:   egress,
		Timeouts: o.Timeouts.resolved(),
		Retry:    o.Retry.resolved(),
		Logger:   o.Logger,
	})
	return s, nil
}

func (t Timeouts) resolved() httpapi.Timeouts {
	pick := func(d, def time.Duration) time.Duration {
		switch {
		case d < 0:
			return 0
		case d == 0:
			return def
		}
		return d
	}
	return httpapi.Timeouts{Connect: pick(t.Connect, DefaultConnectTimeout), FirstByte: pick(t.FirstByte, 0), Idle: pick(t.Idle, DefaultIdleTimeout)}
}

func (r Retry) resolved() httpapi.Retry {
	attempts := r.Attempts
	switch {
	case attempts < 0:
		attempts = 0
	case attempts == 0:
		attempts = DefaultRetryAttempts
	}
	return httpapi.Retry{Attempts: attempts, Base: r.Base, MaxDelay: r.MaxDelay, Sleep: r.Sleep}
}

// pick finds the model asked for among those a server lists, or its
// first when none is asked for.
func pick(endpoint, model string, ids []string) (int, error) {
	for i, id := range ids {
		if model == "" || id == model {
			return i, nil
		}
	}
	if model == "" {
		return 0, &llm.ModelNotFoundError{Model: "(any)", Endpoint: redact(endpoint)}
	}
	return 0, &llm.ModelNotFoundError{Model: model, Endpoint: redact(endpoint), Available: ids}
}

func endpointError(endpoint string, err error) error {
	return &llm.ConfigError{Setting: "endpoint", Value: redact(endpoint), Reason: err.Error()}
}

// redact drops a password from a URL for messages.
func redact(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.User != nil {
		return u.Redacted()
	}
	return endpoint
}
