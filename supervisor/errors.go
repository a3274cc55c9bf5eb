package supervisor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// ErrNotOurs is wrapped by a [Probe]'s error when the server that answered
// is not the one that was launched: it rejected our API key, accepts
// requests without one, or serves a model other than our alias.
var ErrNotOurs = errors.New("the server that answered is not ours")

// ErrStopped is returned by a wait that ended because the process was
// stopped on purpose.
var ErrStopped = errors.New("server was stopped")

// ForeignServerError means another program answers on the address our
// server was given, so the port (or socket) is in use. Our own server is
// stopped; it never counts as ready.
type ForeignServerError struct {
	Backend string
	// Reason says how the other server gave itself away.
	Reason string
	// LogTail is the end of our server's output.
	LogTail string
}

func (e *ForeignServerError) Error() string {
	msg := fmt.Sprintf("%s: port in use: another server answers in its place (%s)", e.Backend, e.Reason)
	if tail := strings.TrimRight(e.LogTail, "\n"); tail != "" {
		msg += "\nserver output (last lines):\n" + tail
	}
	return msg
}

// Cause is always [llm.CausePortInUse], as for a server that exits because
// it could not bind.
func (e *ForeignServerError) Cause() llm.ExitCause { return llm.CausePortInUse }

// Unwrap lets errors.Is(err, ErrNotOurs) match.
func (e *ForeignServerError) Unwrap() error { return ErrNotOurs }

// Retryable is false: the same address will not free itself. A new launch
// on a new address can succeed.
func (e *ForeignServerError) Retryable() bool { return false }
