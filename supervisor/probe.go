package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

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
// Before it says ready, HTTPHealth proves the server is the one we
// launched, once: if ModelID is set, ModelsPath must list it; if APIKey and
// KeyCheckPath are set, KeyCheckPath must refuse a request without the key
// (401 or 403) and accept one with it. A server that fails either test is
// reported with an error wrapping [ErrNotOurs]. The key is sent with every
// request.
type HTTPHealth struct {
	// BaseURL is the server's root, "http://127.0.0.1:8080"; for a unix
	// socket, "http://localhost" with a Client from LoopbackClient.
	BaseURL string
	// Client makes the requests. Default: localserver.LoopbackClient("").
	Client *http.Client
	// HealthPath default: "/health".
	HealthPath string
	// ModelsPath default: "/v1/models".
	ModelsPath string
	// ModelID is the model id the server must list (the --alias nonce).
	ModelID string
	// APIKey is sent as "Authorization: Bearer …".
	APIKey string
	// KeyCheckPath is a path the server protects with its API key
	// ("/props" for llama-server; "/v1/models" for vLLM).
	KeyCheckPath string

	verified atomic.Bool
}

// maxProbeBody bounds what a probe reads of any answer.
const maxProbeBody = 1 << 20

// Probe is a [Probe].
func (h *HTTPHealth) Probe(ctx context.Context) (Status, error) {
	code, body, err := h.get(ctx, or(h.HealthPath, "/health"), true)
	if err != nil {
		return transportStatus(err), nil
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
	if !h.verified.Load() {
		if st, err := h.verify(ctx); err != nil || st.State != StateReady {
			return st, err
		}
		h.verified.Store(true)
	}
	return Status{State: StateReady}, nil
}

// verify proves ownership; it answers StateReady when proved.
func (h *HTTPHealth) verify(ctx context.Context) (Status, error) {
	if h.ModelID != "" {
		path := or(h.ModelsPath, "/v1/models")
		code, body, err := h.get(ctx, path, true)
		switch {
		case err != nil:
			return transportStatus(err), nil
		case code == http.StatusServiceUnavailable:
			return Status{State: StateLoading, Progress: healthProgress(body)}, nil
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return Status{}, fmt.Errorf("%w: %s answered HTTP %d with our API key", ErrNotOurs, path, code)
		case code != http.StatusOK:
			return Status{State: StateListening, Detail: fmt.Sprintf("HTTP %d from %s", code, path)}, nil
		}
		ids, err := modelIDs(body)
		if err != nil {
			return Status{}, fmt.Errorf("%w: %s: %v", ErrNotOurs, path, err)
		}
		if !slices.Contains(ids, h.ModelID) {
			return Status{}, fmt.Errorf("%w: it serves %s, not our model", ErrNotOurs, quoteList(ids))
		}
	}
	if h.APIKey != "" && h.KeyCheckPath != "" {
		code, _, err := h.get(ctx, h.KeyCheckPath, false)
		if err != nil {
			return transportStatus(err), nil
		}
		if code != http.StatusUnauthorized && code != http.StatusForbidden {
			return Status{}, fmt.Errorf("%w: %s answered HTTP %d without an API key", ErrNotOurs, h.KeyCheckPath, code)
		}
		code, _, err = h.get(ctx, h.KeyCheckPath, true)
		if err != nil {
			return transportStatus(err), nil
		}
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			return Status{}, fmt.Errorf("%w: %s answered HTTP %d with our API key", ErrNotOurs, h.KeyCheckPath, code)
		}
	}
	return Status{State: StateReady}, nil
}

func (h *HTTPHealth) get(ctx context.Context, path string, withKey bool) (int, []byte, error) {
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

// transportStatus reads a failed request: refused (or no socket yet) means
// nothing listens; anything after the connection was made means something
// does but did not answer.
func transportStatus(err error) Status {
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

// modelIDs reads an OpenAI model list.
func modelIDs(body []byte) ([]string, error) {
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("not a model list: %w", err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

func quoteList(ids []string) string {
	if len(ids) == 0 {
		return "no models"
	}
	shown := make([]string, 0, 4)
	for i, id := range ids {
		if i == 3 {
			shown = append(shown, "…")
			break
		}
		if len(id) > 64 {
			id = id[:64] + "…"
		}
		shown = append(shown, id)
	}
	return fmt.Sprintf("%q", shown)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
