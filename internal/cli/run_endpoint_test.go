package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// endpointServer is an OpenAI-compatible server that lists one model and
// answers chat requests with chat, recording their bodies.
type endpointServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newEndpoint(t *testing.T, chat http.HandlerFunc) *endpointServer {
	t.Helper()
	for _, k := range []string{"APR_AGENT_MAX_TOKENS_CAP", "APR_AGENT_TEMPERATURE", "APR_AGENT_TOP_K", "APR_AGENT_TOP_P",
		"APR_AGENT_REPEAT_PENALTY", "APR_AGENT_REPEAT_LAST_N", "APR_AGENT_SEED", "APR_AGENT_HTTP_TIMEOUT_S", "TETHER_API_KEY"} {
		t.Setenv(k, "")
	}
	es := &endpointServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		es.mu.Lock()
		es.bodies = append(es.bodies, body)
		es.mu.Unlock()
		chat(w, r)
	})
	es.Server = httptest.NewServer(mux)
	t.Cleanup(es.Close)
	return es
}

func (es *endpointServer) requests() []map[string]any {
	es.mu.Lock()
	defer es.mu.Unlock()
	return append([]map[string]any(nil), es.bodies...)
}

func sseAnswer(w http.ResponseWriter, chunks ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, c := range chunks {
		io.WriteString(w, "data: "+c+"\n\n")
	}
}

func TestRunEndpointTimeoutEndsAStalledAnswer(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // headers sent, then nothing
	})
	t.Setenv("APR_AGENT_HTTP_TIMEOUT_S", "1")
	code, _, errs := tether(t, context.Background(), "run", "--endpoint", es.URL, "hi")
	if code != ExitRequestFailed || !strings.Contains(errs, "within 1s") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestRunEndpointRefusesBadEnvironment(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	for _, c := range []struct{ name, value string }{
		{"APR_AGENT_HTTP_TIMEOUT_S", "abc"},
		{"APR_AGENT_HTTP_TIMEOUT_S", "0"},
		{"APR_AGENT_TEMPERATURE", "NaN"},
		{"APR_AGENT_TOP_P", "NaN"},
		{"APR_AGENT_TOP_P", "Inf"},
		{"APR_AGENT_MAX_TOKENS_CAP", "-1"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			code, out, errs := tether(t, context.Background(), "run", "--endpoint", es.URL, "hi")
			if code != ExitUsage || !strings.Contains(errs, c.name) || strings.Count(errs, "\n") != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
	if n := len(es.requests()); n != 0 {
		t.Fatalf("%d chat requests reached the server", n)
	}
}

func TestRunEndpointAppliesOverrides(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	t.Setenv("APR_AGENT_MAX_TOKENS_CAP", "64")
	t.Setenv("APR_AGENT_TEMPERATURE", "0.25")
	t.Setenv("APR_AGENT_SEED", "7")
	code, out, errs := tether(t, context.Background(), "run", "-q", "--endpoint", es.URL, "--max-tokens", "500", "hi")
	if code != ExitOK || out != "ok\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	reqs := es.requests()
	if len(reqs) != 1 || reqs[0]["max_tokens"] != 64.0 || reqs[0]["temperature"] != 0.25 || reqs[0]["seed"] != 7.0 {
		t.Fatalf("requests %v", reqs)
	}
}

func TestRunEndpointBoundsAnEndlessStream(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := []byte(`data: {"choices":[{"index":0,"delta":{"content":"more "}}]}` + "\n\n")
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	t.Setenv("APR_AGENT_MAX_TOKENS_CAP", "8")
	code, out, errs := tether(t, context.Background(), "run", "--endpoint", es.URL, "hi")
	if code != ExitRequestFailed || !strings.Contains(errs, "max_tokens 8") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if len(out) > 2<<20 {
		t.Fatalf("printed %d bytes of an answer of at most 8 tokens", len(out))
	}
}

func TestRunEndpointBrokenChunkFails(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"Hel"}}]}`, `{broken`,
			`{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	code, _, errs := tether(t, context.Background(), "run", "--endpoint", es.URL, "hi")
	if code != ExitRequestFailed || !strings.Contains(errs, "{broken") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestRunRefusesUnboundedInputFiles(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	for _, flag := range []string{"--messages", "--tools"} {
		code, _, errs := tether(t, context.Background(), "run", "--endpoint", es.URL, flag, "/dev/zero", "hi")
		if code != ExitModel || !strings.Contains(errs, "/dev/zero: larger than 32 MiB") || strings.Count(errs, "\n") != 1 {
			t.Fatalf("%s /dev/zero: exit %d, stderr %q", flag, code, errs)
		}
	}
	if n := len(es.requests()); n != 0 {
		t.Fatalf("%d chat requests reached the server", n)
	}
}

func TestRunRefusesNonFiniteTemperature(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	for _, v := range []string{"NaN", "Inf", "-Inf", "101"} {
		code, _, errs := tether(t, context.Background(), "run", "--endpoint", es.URL, "--temperature", v, "hi")
		if code != ExitUsage || !strings.Contains(errs, "--temperature") {
			t.Fatalf("--temperature %s: exit %d, stderr %q", v, code, errs)
		}
	}
	if n := len(es.requests()); n != 0 {
		t.Fatalf("%d chat requests reached the server", n)
	}
}

// A NaN must be refused before a server is launched, not by the
// server's answer.
func TestRunRefusesNaNBeforeLaunching(t *testing.T) {
	fakeServers(t, nil)
	model := tinyModel(t)
	for _, c := range []struct {
		env, value string
		args       []string
	}{
		{"", "", []string{"--temperature", "NaN"}},
		{"APR_AGENT_TEMPERATURE", "NaN", nil},
		{"APR_AGENT_TOP_P", "nan", nil},
	} {
		t.Run(c.env+strings.Join(c.args, " "), func(t *testing.T) {
			if c.env != "" {
				t.Setenv(c.env, c.value)
			}
			args := append([]string{"run", "--model", model, "--backend", "llama-server"}, c.args...)
			code, _, errs := tether(t, context.Background(), append(args, "hi")...)
			if code != ExitUsage || strings.Contains(errs, "llama-server") {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
		})
	}
}

// keyedEndpoint is an OpenAI-compatible server that answers only
// requests with the bearer key and the X-Org header it wants.
func keyedEndpoint(t *testing.T, key string) *endpointServer {
	t.Helper()
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key || r.Header.Get("X-Org") != "lab" {
			http.Error(w, `{"error":{"message":"who are you"}}`, http.StatusUnauthorized)
			return
		}
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	return es
}

func TestRunEndpointKeyOffTheCommandLine(t *testing.T) {
	es := keyedEndpoint(t, "s3cret")
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("s3cret\n"), 0o600)
	t.Setenv("LAB_KEY", "s3cret")
	base := []string{"run", "-q", "--endpoint", es.URL, "--header", "X-Org: lab", "--privacy", "sovereign"}
	for _, c := range []struct {
		name string
		env  string // TETHER_API_KEY
		args []string
	}{
		{"--api-key-env", "", []string{"--api-key-env", "LAB_KEY"}},
		{"--api-key-file", "", []string{"--api-key-file", keyFile}},
		{"TETHER_API_KEY", "s3cret", nil},
		{"--api-key", "", []string{"--api-key", "s3cret"}},
		{"a flag wins over TETHER_API_KEY", "wrong", []string{"--api-key-file", keyFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TETHER_API_KEY", c.env)
			code, out, errs := tether(t, context.Background(), append(append(base, c.args...), "hi")...)
			if code != ExitOK || out != "ok\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
	t.Setenv("TETHER_API_KEY", "")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unset variable", []string{"--api-key-env", "NO_SUCH_KEY"}, ExitUsage, "NO_SUCH_KEY"},
		{"two key sources", []string{"--api-key-env", "LAB_KEY", "--api-key-file", keyFile}, ExitUsage, "one way"},
		{"wrong key", []string{"--api-key", "wrong"}, ExitRequestFailed, "401"},
		{"bad header", []string{"--header", "Authorization=Bearer s3cret"}, ExitUsage, `want "Name: value"`},
		{"bad tier", []string{"--privacy", "secret"}, ExitUsage, "--privacy"},
		{"lists without the private tier", []string{"--privacy", "standard", "--allow-host", "gpu.lab"}, ExitUsage, "private tier only"},
		{"bad network", []string{"--allow-network", "10.0.0.0/99"}, ExitUsage, "10.0.0.0/99"},
		{"bad api", []string{"--api", "grpc"}, ExitUsage, "--api"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := tether(t, context.Background(), append(append([]string{"run", "--endpoint", es.URL}, c.args...), "hi")...)
			if code != c.code || !strings.Contains(errs, c.want) || strings.Contains(errs, "s3cret") {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
		})
	}
	code, _, errs := tether(t, context.Background(), "run", "--model", "m.gguf", "--api-key-env", "LAB_KEY", "hi")
	if code != ExitUsage || !strings.Contains(errs, "--api-key-env goes with --endpoint") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
