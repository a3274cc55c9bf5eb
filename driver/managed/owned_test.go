package managed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tetherllm/tether/supervisor"
)

func TestProvedProbe(t *testing.T) {
	ready := func(context.Context) (supervisor.Status, error) {
		return supervisor.Status{State: supervisor.StateReady}, nil
	}
	loading := func(context.Context) (supervisor.Status, error) {
		return supervisor.Status{State: supervisor.StateLoading}, nil
	}
	ctx := context.Background()

	asked := 0
	owns := func(context.Context) (bool, error) { asked++; return false, nil }
	if _, err := provedProbe(ready, profileProof(owns))(ctx); !errors.Is(err, supervisor.ErrNotOurs) {
		t.Fatalf("a server that is not ours: %v, want ErrNotOurs", err)
	}
	asked = 0
	if st, err := provedProbe(loading, profileProof(owns))(ctx); err != nil || st.State != supervisor.StateLoading || asked != 0 {
		t.Fatalf("loading: %v %v, asked %d; ownership is proved only once the server is ready", st, err, asked)
	}
	unsure := func(context.Context) (bool, error) { return false, errors.New("connection reset") }
	if st, err := provedProbe(ready, profileProof(unsure))(ctx); err != nil || st.State != supervisor.StateListening {
		t.Fatalf("no answer to the proof: %v %v, want listening (probe again)", st, err)
	}
	asked = 0
	yes := func(context.Context) (bool, error) { asked++; return true, nil }
	probe := provedProbe(ready, profileProof(yes))
	for range 3 {
		if st, err := probe(ctx); err != nil || st.State != supervisor.StateReady {
			t.Fatalf("ours: %v %v", st, err)
		}
	}
	if asked != 1 {
		t.Fatalf("ownership asked %d times, want once", asked)
	}
}

// proofServer answers like llama-server with an alias and an API key.
func proofServer(t *testing.T, id, key string, protect bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprintf(w, `{"object":"list","data":[{"id":%q}]}`, id)
		case "/props":
			if protect && r.Header.Get("Authorization") != "Bearer "+key {
				w.WriteHeader(401)
				return
			}
			fmt.Fprint(w, `{"n_ctx":4096}`)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOwnershipProof(t *testing.T) {
	tests := []struct {
		name          string
		id            string
		protect       bool
		modelID, key  string
		keyCheckPath  string
		ours, notOurs bool
	}{
		{name: "ours", id: "nonce", protect: true, modelID: "nonce", key: "key", keyCheckPath: "/props", ours: true},
		{name: "no proof asked", id: "anything", ours: true},
		{name: "serves another model", id: "squatter", modelID: "nonce", notOurs: true},
		{name: "accepts requests without a key", id: "nonce", modelID: "nonce", key: "key", keyCheckPath: "/props", notOurs: true},
		{name: "rejects our key", id: "nonce", protect: true, key: "other", keyCheckPath: "/props", notOurs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := proofServer(t, tt.id, "key", tt.protect)
			o := &ownership{server: &supervisor.HTTPHealth{BaseURL: srv.URL, Client: srv.Client(), APIKey: tt.key},
				modelID: tt.modelID, keyCheckPath: tt.keyCheckPath}
			st, err := o.prove(context.Background())
			switch {
			case tt.notOurs && !errors.Is(err, supervisor.ErrNotOurs):
				t.Fatalf("prove = %v, %v; want ErrNotOurs", st, err)
			case tt.ours && (err != nil || st.State != supervisor.StateReady):
				t.Fatalf("prove = %v, %v; want ready", st, err)
			}
		})
	}
}

func TestQuoteListBoundsForeignIDs(t *testing.T) {
	long := string(make([]byte, 1000))
	got := quoteList([]string{long, "a", "b", "c", "d"})
	if len(got) > 400 {
		t.Fatalf("quoteList is %d bytes long", len(got))
	}
}

func FuzzModelIDs(f *testing.F) {
	f.Add([]byte(`{"object":"list","data":[{"id":"a"}]}`))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ids, err := modelIDs(body)
		if err == nil {
			_ = quoteList(ids)
		}
	})
}
