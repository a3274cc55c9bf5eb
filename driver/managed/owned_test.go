package managed

import (
	"context"
	"errors"
	"testing"

	"github.com/tetherllm/tether/supervisor"
)

func TestOwnedProbe(t *testing.T) {
	ready := func(context.Context) (supervisor.Status, error) {
		return supervisor.Status{State: supervisor.StateReady}, nil
	}
	loading := func(context.Context) (supervisor.Status, error) {
		return supervisor.Status{State: supervisor.StateLoading}, nil
	}
	ctx := context.Background()

	asked := 0
	owns := func(context.Context) (bool, error) { asked++; return false, nil }
	if _, err := ownedProbe(ready, owns)(ctx); !errors.Is(err, supervisor.ErrNotOurs) {
		t.Fatalf("a server that is not ours: %v, want ErrNotOurs", err)
	}
	asked = 0
	if st, err := ownedProbe(loading, owns)(ctx); err != nil || st.State != supervisor.StateLoading || asked != 0 {
		t.Fatalf("loading: %v %v, asked %d; ownership is proved only once the server is ready", st, err, asked)
	}
	unsure := func(context.Context) (bool, error) { return false, errors.New("connection reset") }
	if st, err := ownedProbe(ready, unsure)(ctx); err != nil || st.State != supervisor.StateListening {
		t.Fatalf("no answer to the proof: %v %v, want listening (probe again)", st, err)
	}
	asked = 0
	yes := func(context.Context) (bool, error) { asked++; return true, nil }
	probe := ownedProbe(ready, yes)
	for range 3 {
		if st, err := probe(ctx); err != nil || st.State != supervisor.StateReady {
			t.Fatalf("ours: %v %v", st, err)
		}
	}
	if asked != 1 {
		t.Fatalf("ownership asked %d times, want once", asked)
	}
}
