package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// The Host check guards a server bound to loopback against DNS
// rebinding: a web page whose own name the attacker re-points at
// 127.0.0.1 could otherwise call the local server as a same-origin
// request, CORS or not. Such a request carries the attacker's name in
// its Host header, so a loopback server answers only Host values that
// are loopback names or addresses, or names it was told to accept. A
// server bound to another address is reachable by name on purpose and
// is not checked; a unix socket cannot be reached by a browser at all.

// listenAddrKey is the context key under which Serve records the
// address its listener is bound to.
type listenAddrKey struct{}

// withListenAddr records ln's bound address in ctx for hostGuarded.
func withListenAddr(ctx context.Context, ln net.Listener) context.Context {
	return context.WithValue(ctx, listenAddrKey{}, ln.Addr())
}

// hostGuarded reports whether r came through a listener bound to a
// loopback TCP address. Without Serve's record (the server used as a
// plain http.Handler) the connection's local address stands in for it.
func hostGuarded(r *http.Request) bool {
	addr, _ := r.Context().Value(listenAddrKey{}).(net.Addr)
	if addr == nil {
		addr, _ = r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	}
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// hostPolicy is the parsed Config.AllowedHosts.
type hostPolicy struct {
	any   bool
	names map[string]bool // lower-case, without port or trailing dot
}

func newHostPolicy(hosts []string) hostPolicy {
	p := hostPolicy{names: map[string]bool{}}
	for _, h := range hosts {
		if h = strings.TrimSpace(h); h == "*" {
			p.any = true
		} else if h != "" {
			p.names[hostName(h)] = true
		}
	}
	return p
}

// hostName is a Host value's name: lower-case, without port, brackets
// or trailing dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}

// allows reports whether a Host header names this machine's loopback or
// a configured name. An empty Host (HTTP/1.0) is allowed: browsers
// always send one.
func (p hostPolicy) allows(host string) bool {
	name := hostName(host)
	switch {
	case host == "" || p.any || p.names[name]:
		return true
	case name == "localhost" || strings.HasSuffix(name, ".localhost"):
		return true // RFC 6761: these names always resolve to loopback
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// checkHost refuses a request whose Host header a loopback server must
// not answer.
func (s *Server) checkHost(r *http.Request) *apiError {
	if !hostGuarded(r) || s.hostPolicy.allows(r.Host) {
		return nil
	}
	return &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: "host_not_allowed",
		Message: fmt.Sprintf("the Host header %q is not allowed: a server bound to loopback answers only requests addressed to localhost, a loopback address or an allowed host (--allowed-host), as a guard against DNS rebinding", r.Host)}
}
