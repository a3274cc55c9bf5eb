package serve

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestHostCheck checks the guard against DNS rebinding on a server bound
// to loopback: loopback names and addresses, with any port, and the
// allowed hosts are answered; any other Host is a 403 that says why.
func TestHostCheck(t *testing.T) {
	ts := startServer(t, Config{AllowedHosts: []string{"tether.lan", "Box.Example."}, CORSOrigins: []string{"*"}})
	for _, host := range []string{"127.0.0.1", "127.0.0.1:8080", "127.9.8.7:1", "localhost", "LOCALHOST:3000", "localhost.", "app.localhost:5173",
		"[::1]:8080", "[::1]", "tether.lan", "tether.lan:8080", "box.example"} {
		if a := ts.request(t, http.MethodGet, "/v1/models", "", map[string]string{"Host": host}); a.status != http.StatusOK {
			t.Errorf("Host %q: %d %s", host, a.status, a.body)
		}
	}
	for _, host := range []string{"evil.example", "evil.example:8080", "10.0.0.1", "localhost.evil.example", "127.0.0.1.evil.example", "[2001:db8::1]:80"} {
		for _, path := range []string{"/v1/models", "/v1/chat/completions", "/health"} {
			a := ts.request(t, http.MethodGet, path, "", map[string]string{"Host": host, "Origin": "http://" + host})
			if a.status != http.StatusForbidden {
				t.Fatalf("Host %q %s: %d %s", host, path, a.status, a.body)
			}
			obj := a.errorObject(t)
			if obj["code"] != "host_not_allowed" || !strings.Contains(obj["message"].(string), host) || !strings.Contains(obj["message"].(string), "DNS rebinding") {
				t.Errorf("Host %q: %v", host, obj)
			}
			if a.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("Host %q: a refused request got CORS headers", host)
			}
		}
	}
	t.Run("any host", func(t *testing.T) {
		ts := startServer(t, Config{AllowedHosts: []string{"*"}})
		if a := ts.request(t, http.MethodGet, "/v1/models", "", map[string]string{"Host": "evil.example"}); a.status != http.StatusOK {
			t.Errorf("--allowed-host '*': %d", a.status)
		}
	})
}

// TestHostCheckOff checks that a server bound to a non-loopback address
// or a unix socket answers any Host.
func TestHostCheckOff(t *testing.T) {
	ts := startServer(t, Config{})
	serveOn := func(t *testing.T, ln net.Listener) {
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- ts.Serve(ctx, ln) }()
		t.Cleanup(func() { cancel(); <-served })
	}
	t.Run("all interfaces", func(t *testing.T) {
		ln, err := Listen("0.0.0.0", 0)
		if err != nil {
			t.Skipf("cannot bind 0.0.0.0 here: %v", err)
		}
		serveOn(t, ln)
		other := &testServer{Server: ts.Server, url: URL(ln)} // reached through 127.0.0.1
		if a := other.request(t, http.MethodGet, "/v1/models", "", map[string]string{"Host": "evil.example"}); a.status != http.StatusOK {
			t.Errorf("bound to 0.0.0.0: %d %s", a.status, a.body)
		}
		// The loopback listener of the same server still checks.
		if a := ts.request(t, http.MethodGet, "/v1/models", "", map[string]string{"Host": "evil.example"}); a.status != http.StatusForbidden {
			t.Errorf("bound to 127.0.0.1: %d", a.status)
		}
	})
	t.Run("unix socket", func(t *testing.T) {
		sock := t.TempDir() + "/t.sock"
		ln, err := Listen(sock, 0)
		if err != nil {
			t.Fatal(err)
		}
		serveOn(t, ln)
		c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		req, _ := http.NewRequest(http.MethodGet, "http://evil.example/v1/models", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("unix socket, Host evil.example: %d", resp.StatusCode)
		}
	})
}
