package managed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/tetherllm/tether/supervisor"
)

// ownership proves that the server answering on a launch's address is
// the one launched, once it says it is healthy: if modelID is set, the
// model list at modelsPath must name it (the launch's alias nonce); if
// the server's API key and keyCheckPath are set, keyCheckPath must refuse a request
// without the key (401 or 403) and accept one with it. A server that
// fails either test is not ours: a squatter on the port, or a stale
// server from another launch.
type ownership struct {
	// server asks the server, as the health probe does.
	server       *supervisor.HTTPHealth
	modelsPath   string
	modelID      string
	keyCheckPath string
}

// prove answers StateReady once ownership is proved, another state while
// the server cannot tell yet, and an error wrapping
// [supervisor.ErrNotOurs] when the server is not ours.
func (o *ownership) prove(ctx context.Context) (supervisor.Status, error) {
	if o.modelID != "" {
		path := o.modelsPath
		if path == "" {
			path = "/v1/models"
		}
		code, body, err := o.server.Get(ctx, path, true)
		switch {
		case err != nil:
			return supervisor.NotAnswering(err), nil
		case code == http.StatusServiceUnavailable:
			return supervisor.Status{State: supervisor.StateLoading}, nil
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return supervisor.Status{}, fmt.Errorf("%w: %s answered HTTP %d with our API key", supervisor.ErrNotOurs, path, code)
		case code != http.StatusOK:
			return supervisor.Status{State: supervisor.StateListening, Detail: fmt.Sprintf("HTTP %d from %s", code, path)}, nil
		}
		ids, err := modelIDs(body)
		if err != nil {
			return supervisor.Status{}, fmt.Errorf("%w: %s: %v", supervisor.ErrNotOurs, path, err)
		}
		if !slices.Contains(ids, o.modelID) {
			return supervisor.Status{}, fmt.Errorf("%w: it serves %s, not our model", supervisor.ErrNotOurs, quoteList(ids))
		}
	}
	if o.server.APIKey != "" && o.keyCheckPath != "" {
		code, _, err := o.server.Get(ctx, o.keyCheckPath, false)
		if err != nil {
			return supervisor.NotAnswering(err), nil
		}
		if code != http.StatusUnauthorized && code != http.StatusForbidden {
			return supervisor.Status{}, fmt.Errorf("%w: %s answered HTTP %d without an API key", supervisor.ErrNotOurs, o.keyCheckPath, code)
		}
		code, _, err = o.server.Get(ctx, o.keyCheckPath, true)
		if err != nil {
			return supervisor.NotAnswering(err), nil
		}
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			return supervisor.Status{}, fmt.Errorf("%w: %s answered HTTP %d with our API key", supervisor.ErrNotOurs, o.keyCheckPath, code)
		}
	}
	return supervisor.Status{State: supervisor.StateReady}, nil
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

// quoteList names a foreign server's models, bounded: its ids are not
// ours to print at any length.
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

// provedProbe adds proofs of ownership to a health probe: the first time
// the server says it is ready, each proof must answer ready too, or the
// probe answers what the proof does (a state while it cannot tell yet,
// an error wrapping [supervisor.ErrNotOurs] when the server is not ours).
// Once proved, the health probe alone answers.
func provedProbe(health supervisor.Probe, proofs ...func(context.Context) (supervisor.Status, error)) supervisor.Probe {
	if len(proofs) == 0 {
		return health
	}
	var proved atomic.Bool
	return func(ctx context.Context) (supervisor.Status, error) {
		st, err := health(ctx)
		if err != nil || st.State != supervisor.StateReady || proved.Load() {
			return st, err
		}
		for _, prove := range proofs {
			if st, err := prove(ctx); err != nil || st.State != supervisor.StateReady {
				return st, err
			}
		}
		proved.Store(true)
		return st, nil
	}
}
