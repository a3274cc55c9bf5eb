package llm

import (
	"fmt"
	"strings"
	"time"
)

// PrivacyError means a request was refused before it left the machine:
// the endpoint's address breaks the driver's privacy tier. No connection
// was opened.
type PrivacyError struct {
	Tier PrivacyTier
	// Host is the endpoint's host as the URL names it.
	Host string
	// Address is the resolved address that broke the rule; empty when
	// the host name itself was refused.
	Address string
	// Rule says what the tier allows, e.g. "sovereign allows only
	// loopback addresses and unix sockets".
	Rule string
}

func (e *PrivacyError) Error() string {
	where := e.Host
	if e.Address != "" && e.Address != e.Host {
		where += " (" + e.Address + ")"
	}
	return fmt.Sprintf("privacy tier %s refuses %s: %s", e.Tier, where, e.Rule)
}

// Retryable is false: the same address breaks the same rule again.
func (e *PrivacyError) Retryable() bool { return false }

// TimeoutError is the cause of a [TransportError] when one of a remote
// driver's timeouts ran out.
type TimeoutError struct {
	// Phase is "connect", "first byte" or "idle".
	Phase string
	// Limit is the timeout that ran out.
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	switch e.Phase {
	case "connect":
		return fmt.Sprintf("no connection within %s", e.Limit)
	case "first byte":
		return fmt.Sprintf("no answer within %s of sending the request", e.Limit)
	}
	return fmt.Sprintf("the answer stalled: nothing for %s", e.Limit)
}

// Timeout reports true, as net.Error does, so that code that asks a
// network error whether it timed out gets the right answer.
func (e *TimeoutError) Timeout() bool { return true }

// InterruptedError means a streamed answer failed after the caller had
// received part of it. It is never retried: sending the request again
// would show the caller the same text twice.
type InterruptedError struct {
	// Events is how many events the caller had received.
	Events int
	Err    error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("the answer broke off after %d events: %v", e.Events, e.Err)
}

func (e *InterruptedError) Unwrap() error   { return e.Err }
func (e *InterruptedError) Retryable() bool { return false }

// ModelNotFoundError means the server does not serve the model asked for.
type ModelNotFoundError struct {
	Model string
	// Endpoint is the server's address.
	Endpoint string
	// Available lists the models the server offers.
	Available []string
}

func (e *ModelNotFoundError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("%s does not serve model %q (it lists no models)", e.Endpoint, e.Model)
	}
	return fmt.Sprintf("%s does not serve model %q; it serves: %s", e.Endpoint, e.Model, strings.Join(e.Available, ", "))
}

func (e *ModelNotFoundError) Retryable() bool { return false }
