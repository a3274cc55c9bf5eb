package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
)

// Model is one model a server offers.
type Model struct {
	ID string `json:"id"`
	// ContextLength is the model's context window when the server says
	// it (vLLM's max_model_len, llama.cpp's meta.n_ctx_train, or a
	// context_length field), else 0.
	ContextLength int `json:"context_length,omitempty"`
}

// maxProbe bounds the body of a probe or model list.
const maxProbe = 16 << 20

// Models lists the server's models (GET /v1/models).
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	data, err := c.get(ctx, c.modelsURL)
	if err != nil {
		return nil, err
	}
	var v struct {
		Data []struct {
			ID            string `json:"id"`
			MaxModelLen   int    `json:"max_model_len"`
			ContextLength int    `json:"context_length"`
			Meta          *struct {
				NCtxTrain int `json:"n_ctx_train"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, &llm.ProtocolError{Reason: "model list is not JSON (" + httpapi.Snippet(data) + ")", Err: err}
	}
	models := make([]Model, 0, len(v.Data))
	for _, m := range v.Data {
		mod := Model{ID: m.ID, ContextLength: m.MaxModelLen}
		if mod.ContextLength == 0 {
			mod.ContextLength = m.ContextLength
		}
		if mod.ContextLength == 0 && m.Meta != nil {
			mod.ContextLength = m.Meta.NCtxTrain
		}
		models = append(models, mod)
	}
	return models, nil
}

// Get fetches a path from the server root, such as "/health" or "/props",
// for backend probes, and returns the body of a successful answer. Other
// answers give the same typed errors as requests (a loading llama-server's
// 503 is a RateLimitedError with Overloaded set).
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return c.get(ctx, c.root+path)
}

func (c *Client) get(ctx context.Context, url string) ([]byte, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("openai: %w", llm.ErrClosed)
	}
	rctx, cancel := c.requestContext(ctx)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	hreq.Header.Set("Accept", "application/json")
	c.authorize(hreq)
	resp, err := c.do(ctx, rctx, hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProbe))
	if err != nil {
		op := "GET " + url
		return nil, c.abortError(ctx, rctx, op, httpapi.TransportError(op, err))
	}
	return data, nil
}
