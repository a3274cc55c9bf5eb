package openai

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"
)

// envProxy picks the proxy for hosts that are not loopback; tests replace
// it.
var envProxy = http.ProxyFromEnvironment

// proxyFor sends every request through the environment's proxy except
// those to loopback hosts: a local server must never be reached through a
// corporate proxy that cannot see it.
func proxyFor(req *http.Request) (*url.URL, error) {
	if isLoopback(req.URL.Hostname()) {
		return nil, nil
	}
	return envProxy(req)
}

// newTransport returns a pooled transport; with socket set it dials that
// unix socket for every request.
func newTransport(socket string) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 proxyFor,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64, // parallel requests to one local server
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// No ResponseHeaderTimeout: a long prompt can take minutes to
		// process before the first byte. Options.Timeout bounds requests.
	}
	if socket != "" {
		t.Proxy = nil
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	}
	return t
}
