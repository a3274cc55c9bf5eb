package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/tetherllm/tether/internal/localserver"
)

// HTTPHealth probes a server with llama.cpp's health semantics, which vLLM,
// tether's own server and most OpenAI-compatible servers share: GET
// HealthPath answers 503 while the model loads and 200 once it is ready.
// Nothing answering is StateSpawned; a connection that does not answer, or
// answers something else, is StateListening; 503 is StateLoading, with the
// progress taken from a "progress" number in the body if there is one
// (ollama's runners send one; a fraction, or a percentage above 1).
//
// The key is sent with every request, and a health check it is refused
// on is a server that is not ours ([ErrNotOurs]). Proving that the server
// is the one launched (its alias listed, its key required) is the
// launcher's business: wrap the probe (driver/managed does).
type HTTPHealth struct {
	// BaseURL is the server's root, "http://127.0.0.1:8080"; for a unix
	// socket, "http://localhost" with a Client whose transport dials the
	// socket.
	BaseURL string
	// Client makes the requests. Default: a client that never uses a
	// proxy and connects within 2 s or not at all.
	Client *http.Client
	// HealthPath default: "/health".
	HealthPath string
	// APIKey is sent as "Authorization: Bearer …".
	APIKey string
}

// maxProbeBody bounds what a probe reads of any answer.
const maxProbeBody = 1 << 20

// Probe is a [Probe].
func (h *HTTPHealth) Probe(ctx context.Context) (Status, error) {
	code, body, err := h.Get(ctx, or(h.HealthPath, "/health"), true)
	if err != nil {
		return NotAnswering(err), nil
	}
	switch {
	case code == http.StatusOK:
	case code == http.StatusServiceUnavailable:
		return Status{State: StateLoading, Progress: healthProgress(body)}, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Status{}, fmt.Errorf("%w: %s answered HTTP %d with our API key", ErrNotOurs, or(h.HealthPath, "/health"), code)
	default:
		return Status{State: StateListening, Detail: fmt.Sprintf("HTTP %d from %s", code, or(h.HealthPath, "/health"))}, nil
	}
	return Status{State: StateReady}, nil
}

// Get asks the server for path with the probe's client (the API key sent
// when withKey is set), reading at most 1 MiB of the answer: what a
// launcher's own checks of the same server, such as proofs that it is
// ours, ask with.
func (h *HTTPHealth) Get(ctx context.Context, path string, withKey bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(h.BaseURL, "/")+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if withKey && h.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.APIKey)
	}
	client := h.Client
	if client == nil {
		client = defaultProbeClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

var defaultProbeClient = localserver.LoopbackClient("")

// NotAnswering reads a failed request: refused (or no socket yet) means
// nothing listens; anything after the connection was made means something
// does but did not answer.
func NotAnswering(err error) Status {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return Status{State: StateSpawned}
	}
	return Status{State: StateListening, Detail: "no answer"}
}

// healthProgress finds a loading progress in a health answer: a top-level
// "progress" number, as a fraction or a percentage. 0 means none.
func healthProgress(body []byte) float64 {
	var v struct {
		Progress *float64 `json:"progress"`
	}
	if json.Unmarshal(body, &v) != nil || v.Progress == nil {
		return 0
	}
	p := *v.Progress
	if p > 1 {
		p /= 100
	}
	if !(p > 0) || p > 1 { // also rejects NaN
		return 0
	}
	return p
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
