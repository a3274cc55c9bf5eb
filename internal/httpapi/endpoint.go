package httpapi

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// Endpoint is the server a base URL names.
type Endpoint struct {
	// Root is the server root, for probes such as /health:
	// "http://127.0.0.1:8080".
	Root string
	// APIRoot is the API's root: the base URL's path if it ends in /v1,
	// else that path with /v1 added: "http://127.0.0.1:8080/v1".
	APIRoot string
	// Socket is the unix socket every request dials; empty for TCP.
	Socket string
	// Local says the server is on this machine: a loopback host or a
	// unix socket.
	Local bool
}

// ParseBaseURL reads a client's base URL: "http://127.0.0.1:8080",
// "https://host/v1", or "unix:///path/server.sock". Its errors name the
// URL; callers add their package's name.
func ParseBaseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("base URL %q: %w", raw, err)
	}
	var e Endpoint
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return Endpoint{}, fmt.Errorf("base URL %q has no host", raw)
		}
		e.Local = IsLoopback(u.Hostname())
	case "unix":
		e.Socket = u.Path
		if e.Socket == "" {
			return Endpoint{}, fmt.Errorf("base URL %q names no socket path (want unix:///path/to.sock)", raw)
		}
		// The host is only a name for the Host header; the dialer
		// ignores it.
		u = &url.URL{Scheme: "http", Host: "localhost"}
		e.Local = true
	default:
		return Endpoint{}, fmt.Errorf("base URL %q: want http://, https:// or unix://", raw)
	}
	path := strings.TrimRight(u.Path, "/")
	root := u.Scheme + "://" + u.Host
	if strings.HasSuffix(path, "/v1") {
		e.Root, e.APIRoot = root+strings.TrimSuffix(path, "/v1"), root+path
	} else {
		e.Root, e.APIRoot = root+path, root+path+"/v1"
	}
	return e, nil
}

// IsLoopback tells a host name or address of this machine: localhost,
// a name under .localhost, or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Info fills what a client's options left out of info: Backend is
// "remote", Privacy is Sovereign for a local server and Standard
// otherwise, and a ContextWindow given by the caller says so.
func Info(info llm.Info, local bool) llm.Info {
	if info.ContextWindow > 0 {
		info.ContextSource = "caller"
	}
	if info.Backend == "" {
		info.Backend = "remote"
	}
	if info.Privacy == 0 {
		info.Privacy = llm.Standard
		if local {
			info.Privacy = llm.Sovereign
		}
	}
	return info
}
