package supervisor

import (
	"context"
	"fmt"
	"time"
)

// State is where a server is in its life.
type State int32

// The states of a server, in the order start-up goes through them.
const (
	// StateSpawned: the process runs; nothing answers yet.
	StateSpawned State = iota
	// StateListening: something accepts connections but has not said it
	// is loading or ready.
	StateListening
	// StateLoading: the server says it is loading the model.
	StateLoading
	// StateReady: the server proved it is ours and answers requests.
	StateReady
	// StateFailed: start-up failed, or the process died on its own.
	StateFailed
	// StateStopped: the process was stopped on purpose.
	StateStopped
)

func (s State) String() string {
	switch s {
	case StateSpawned:
		return "spawned"
	case StateListening:
		return "listening"
	case StateLoading:
		return "loading"
	case StateReady:
		return "ready"
	case StateFailed:
		return "failed"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Status is one observation of a server.
type Status struct {
	State State
	// Progress is the loading progress in (0, 1]; 0 means unknown.
	Progress float64
	// Detail says more, for people ("HTTP 404 from /health").
	Detail string
}

// String renders a status for people: "loading 42%", "listening".
func (s Status) String() string {
	out := s.State.String()
	if s.State == StateLoading && s.Progress > 0 {
		out += fmt.Sprintf(" %d%%", int(s.Progress*100+0.5))
	}
	if s.Detail != "" {
		out += " (" + s.Detail + ")"
	}
	return out
}

// Event reports a change of state during start-up.
type Event struct {
	Status
	// Elapsed is the time since the process started.
	Elapsed time.Duration
}

// A Probe looks at a starting server once and says where it is. It must
// return promptly when ctx ends. Something not answering yet, or answering
// nonsense, is a Status (StateSpawned, StateListening), not an error: the
// start-up budget decides when to give up. An error means start-up cannot
// succeed and ends it at once; wrap [ErrNotOurs] when the server that
// answered is not the one that was launched.
type Probe func(ctx context.Context) (Status, error)
