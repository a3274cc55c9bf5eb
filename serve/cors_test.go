package serve

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// request sends method path with the given headers and returns the
// answer whole.
func (ts *testServer) request(t *testing.T, method, path, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func preflight(origin string) map[string]string {
	return map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
	}
}

// TestCORSOff checks the default: no CORS headers, and a preflight is a
// 405 that says CORS is off.
func TestCORSOff(t *testing.T) {
	ts := startServer(t, Config{})
	a := ts.request(t, http.MethodOptions, "/v1/chat/completions", "", preflight("http://localhost:3000"))
	if a.status != http.StatusMethodNotAllowed || a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight with CORS off: %d %v", a.status, a.header)
	}
	if obj := a.errorObject(t); !strings.Contains(obj["message"].(string), "--cors-origin") {
		t.Errorf("the refusal does not say how to turn CORS on: %v", obj)
	}
	a = ts.request(t, http.MethodGet, "/v1/models", "", map[string]string{"Origin": "http://localhost:3000"})
	if a.status != http.StatusOK || a.header.Get("Access-Control-Allow-Origin") != "" || a.header.Get("Vary") != "" {
		t.Errorf("GET with CORS off: %d %v", a.status, a.header)
	}
}

// TestCORS checks allowed and refused origins: preflights, answers,
// errors and streams.
func TestCORS(t *testing.T) {
	const app = "http://localhost:3000"
	ts := startServer(t, Config{CORSOrigins: []string{app, "https://Example.com/"}, APIKey: testKey})
	for _, origin := range []string{app, "https://example.com"} {
		a := ts.request(t, http.MethodOptions, "/v1/chat/completions", "", preflight(origin))
		h := a.header
		if a.status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Fatalf("preflight from %s: %d %v", origin, a.status, h)
		}
		allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		for _, name := range []string{"authorization", "content-type", "x-api-key", "anthropic-version", "x-stainless-os"} {
			if !strings.Contains(allowed, name) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, name)
			}
		}
		if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Max-Age") == "" || len(a.body) != 0 {
			t.Errorf("preflight headers %v body %q", h, a.body)
		}
	}
	// The answers to an allowed origin carry its name, errors included.
	auth := map[string]string{"Origin": app, "Authorization": "Bearer " + testKey, "Content-Type": "application/json"}
	body := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	for _, c := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
	}{
		{"chat", http.MethodPost, "/v1/chat/completions", body, auth, 200},
		{"stream", http.MethodPost, "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true}`, auth, 200},
		{"no key", http.MethodPost, "/v1/chat/completions", body, map[string]string{"Origin": app}, 401},
		{"bad request", http.MethodPost, "/v1/chat/completions", `{`, auth, 400},
		{"models", http.MethodGet, "/v1/models", "", map[string]string{"Origin": app}, 200},
	} {
		a := ts.request(t, c.method, c.path, c.body, c.header)
		if a.status != c.status || a.header.Get("Access-Control-Allow-Origin") != app || !strings.Contains(a.header.Get("Vary"), "Origin") {
			t.Errorf("%s: %d %v", c.name, a.status, a.header)
		}
	}
	// Another origin gets no CORS headers: a 403 preflight, and answers
	// the browser will not show.
	a := ts.request(t, http.MethodOptions, "/v1/chat/completions", "", preflight("http://evil.example"))
	if a.status != http.StatusForbidden || a.header.Get("Access-Control-Allow-Origin") != "" || a.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from another origin: %d %v", a.status, a.header)
	}
	if obj := a.errorObject(t); !strings.Contains(obj["message"].(string), "http://evil.example") {
		t.Errorf("refusal %v does not name the origin", obj)
	}
	a = ts.request(t, http.MethodGet, "/v1/models", "", map[string]string{"Origin": "http://evil.example"})
	if a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET from another origin: %v", a.header)
	}
	// Requested headers that are not HTTP tokens are not echoed.
	h := preflight(app)
	h["Access-Control-Request-Headers"] = "x-ok, bad header"
	a = ts.request(t, http.MethodOptions, "/v1/chat/completions", "", h)
	if got := a.header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "x-ok") || strings.Contains(got, "bad header") {
		t.Errorf("Access-Control-Allow-Headers %q", got)
	}
}

// TestCORSAnyOrigin checks "*": every origin is echoed.
func TestCORSAnyOrigin(t *testing.T) {
	ts := startServer(t, Config{CORSOrigins: []string{"*"}})
	for _, origin := range []string{"http://a.example", "null", "https://b.example:8443"} {
		a := ts.request(t, http.MethodOptions, "/v1/completions", "", preflight(origin))
		if a.status != http.StatusNoContent || a.header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight from %s: %d %v", origin, a.status, a.header)
		}
	}
	if a := ts.request(t, http.MethodGet, "/v1/models", "", nil); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a request without Origin got CORS headers: %v", a.header)
	}
}

func TestCORSConfig(t *testing.T) {
	for _, bad := range []string{"localhost:3000", "http://x/path", "http://", "ftp//x", "http://u@x"} {
		if _, err := New(Config{Model: "m.gguf", CORSOrigins: []string{bad}}); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
	for _, good := range []string{"*", "null", "http://localhost:3000", "https://app.example/", "http://[::1]:8080"} {
		if _, err := New(Config{Model: "m.gguf", CORSOrigins: []string{good}}); err != nil {
			t.Errorf("origin %q: %v", good, err)
		}
	}
}
