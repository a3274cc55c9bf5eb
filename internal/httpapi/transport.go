package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"
)

// EnvProxy picks the proxy for hosts that are not loopback. It is
// http.ProxyFromEnvironment, which reads the environment once; tests
// replace it.
var EnvProxy = http.ProxyFromEnvironment

// ProxyFor sends every request through the environment's proxy except
// those to loopback hosts: a local server must never be reached through a
// corporate proxy that cannot see it.
func ProxyFor(req *http.Request) (*url.URL, error) {
	if IsLoopback(req.URL.Hostname()) {
		return nil, nil
	}
	return EnvProxy(req)
}

// NewTransport returns a pooled transport; with socket set it dials that
// unix socket for every request.
func NewTransport(socket string) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 ProxyFor,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64, // parallel requests to one local server
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// No ResponseHeaderTimeout: a long prompt can take minutes to
		// process before the first byte. The clients' Timeout option
		// bounds requests.
	}
	if socket != "" {
		t.Proxy = nil
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	}
	return t
}
