// Package remote is the driver for an OpenAI-compatible server that is
// already running somewhere — a vLLM cluster, a llama-server on another
// machine, a hosted API. tether starts and stops nothing; it talks.
package remote

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Options configure [Dial]. Only Endpoint is required.
type Options struct {
	// Endpoint is the server: "http://10.0.0.5:8000", "https://host/v1",
	// "unix:///run/llm.sock".
	Endpoint string
	// APIKey is sent as a bearer token.
	APIKey string
	// Model is the model to ask for. Default: the server's first model.
	Model string
	// ToolMode says how tools travel. Default: native.
	ToolMode openai.ToolMode
	// ContextWindow is used when the server does not tell its own.
	ContextWindow int
	// Privacy overrides the tier inferred from the endpoint's address.
	Privacy llm.PrivacyTier
	// Timeout bounds each request; 0 leaves it to the caller's context.
	Timeout time.Duration
}

// Dial connects to a running server: it asks the server for its models
// (to learn the model name and context window when not given) and
// returns the client as an llm.Driver. The privacy tier follows the
// address unless Options.Privacy says otherwise: loopback and unix
// sockets are sovereign, private networks (RFC 1918, unique-local IPv6,
// CGNAT, .local/.internal/.lan names) private, anything else standard.
func Dial(ctx context.Context, o Options) (*openai.Client, error) {
	privacy := o.Privacy
	if privacy == 0 {
		var err error
		if privacy, err = PrivacyOf(o.Endpoint); err != nil {
			return nil, err
		}
	}
	c, err := openai.New(openai.Options{
		BaseURL: o.Endpoint, APIKey: o.APIKey, Model: o.Model, ToolMode: o.ToolMode,
		Backend: "remote", Privacy: privacy, ContextWindow: o.ContextWindow, Timeout: o.Timeout,
	})
	if err != nil {
		return nil, &llm.ConfigError{Setting: "endpoint", Value: o.Endpoint, Reason: err.Error()}
	}
	models, err := c.Models(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("tether: %s: listing models: %w", o.Endpoint, err)
	}
	model, window := o.Model, 0
	for _, m := range models {
		if model == "" || m.ID == model {
			model, window = m.ID, m.ContextLength
			break
		}
	}
	if model == "" {
		c.Close()
		return nil, fmt.Errorf("tether: %s serves no models", o.Endpoint)
	}
	if window == 0 {
		window = o.ContextWindow
	}
	c.Close()
	return openai.New(openai.Options{
		BaseURL: o.Endpoint, APIKey: o.APIKey, Model: model, ToolMode: o.ToolMode,
		Backend: "remote", Privacy: privacy, ContextWindow: window, Timeout: o.Timeout,
	})
}

// PrivacyOf infers the privacy tier of an endpoint from its address.
func PrivacyOf(endpoint string) (llm.PrivacyTier, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" {
		return 0, &llm.ConfigError{Setting: "endpoint", Value: endpoint, Reason: "not a URL (want http://host:port, https://… or unix:///path)"}
	}
	if u.Scheme == "unix" {
		return llm.Sovereign, nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return llm.Sovereign, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		switch {
		case ip.IsLoopback():
			return llm.Sovereign, nil
		case ip.IsPrivate(), ip.IsLinkLocalUnicast(), cgnat.Contains(ip):
			return llm.Private, nil
		}
		return llm.Standard, nil
	}
	for _, suffix := range []string{".local", ".internal", ".lan", ".home.arpa"} {
		if strings.HasSuffix(host, suffix) {
			return llm.Private, nil
		}
	}
	return llm.Standard, nil
}

var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}
