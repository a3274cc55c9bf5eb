package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
)

// Model is one model a server offers (GET /v1/models).
type Model struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
}

// maxModelList bounds the body of a model list.
const maxModelList = 16 << 20

// Models lists the server's models: the first page of GET /v1/models
// (limit 1000), with the same headers and errors as a request.
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("anthropic: %w", llm.ErrClosed)
	}
	rctx, cancel := c.requestContext(ctx)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodGet, c.apiRoot+"/models?limit=1000", nil)
	if err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	hreq.Header.Set("Accept", "application/json")
	c.setHeaders(hreq)
	resp, err := httpapi.Do(ctx, rctx, c.http, c.opts.Timeout, hreq, statusError)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList))
	if err != nil {
		return nil, c.abortError(ctx, rctx, httpapi.TransportError("read model list", err))
	}
	var v struct {
		Data []Model `json:"data"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, &llm.ProtocolError{Reason: "model list is not JSON (" + httpapi.Snippet(data) + ")", Err: err}
	}
	return v.Data, nil
}
