package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrClosed is wrapped by every call on a closed driver.
var ErrClosed = errors.New("driver is closed")

// retryer is implemented by the error types of this package.
type retryer interface{ Retryable() bool }

// Retryable reports whether sending the same request again may succeed:
// rate limiting and overload, transport failures, 408, 429 and 5xx answers,
// and a server that died while serving (a managed driver restarts it). It
// never retries another 4xx, a bad request, a context overflow, a model
// problem, or the caller's own cancellation.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var r retryer
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return false
}

// RetryAfter returns how long the server asked the caller to wait, if it
// said so.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimitedError
	if errors.As(err, &rl) && rl.RetryAfter > 0 {
		return rl.RetryAfter, true
	}
	return 0, false
}

// BinaryNotFoundError means a server program could not be found.
type BinaryNotFoundError struct {
	// Name is the program looked for, e.g. "llama-server".
	Name string
	// Where says where it was looked for: "PATH" or an explicit path.
	Where string
	// Hint tells the user how to install it.
	Hint string
}

func (e *BinaryNotFoundError) Error() string {
	msg := fmt.Sprintf("%s not found on %s", e.Name, e.Where)
	if e.Hint != "" {
		msg += "; install: " + e.Hint
	}
	return msg
}

func (e *BinaryNotFoundError) Retryable() bool { return false }

// StartupTimeoutError means a server did not become ready in its budget.
type StartupTimeoutError struct {
	Backend string
	// Budget is how long the driver waited without progress.
	Budget time.Duration
	// LastState is the readiness state last seen ("spawned",
	// "listening", "loading 42%").
	LastState string
	// LogTail is the end of the server's output.
	LogTail string
}

func (e *StartupTimeoutError) Error() string {
	msg := fmt.Sprintf("%s did not become ready within %s (last state: %s)",
		e.Backend, e.Budget.Round(time.Millisecond), e.LastState)
	return msg + formatTail(e.LogTail)
}

func (e *StartupTimeoutError) Retryable() bool { return false }

// ExitCause classifies why a server process died.
type ExitCause int

// The causes a server's output can reveal.
const (
	CauseUnknown ExitCause = iota
	CauseOutOfMemory
	CauseBadModel
	CauseMissingLibrary
	CausePortInUse
)

func (c ExitCause) String() string {
	switch c {
	case CauseOutOfMemory:
		return "out of memory"
	case CauseBadModel:
		return "bad model file"
	case CauseMissingLibrary:
		return "missing library"
	case CausePortInUse:
		return "port in use"
	}
	return "unknown"
}

// ServerExitedError means a server process ended when it should not have.
type ServerExitedError struct {
	Backend string
	PID     int
	// ExitCode is the process's exit status, or -1 if a signal ended it.
	ExitCode int
	// Signal names the signal that ended it, if any ("killed").
	Signal string
	Cause  ExitCause
	// LogTail is the end of the server's output.
	LogTail string
	// DuringStartup is true if the server died before it was ready.
	DuringStartup bool
}

func (e *ServerExitedError) Error() string {
	how := fmt.Sprintf("exit status %d", e.ExitCode)
	if e.Signal != "" {
		how = "signal: " + e.Signal
	}
	when := "while serving"
	if e.DuringStartup {
		when = "during startup"
	}
	msg := fmt.Sprintf("%s (pid %d) exited %s with %s", e.Backend, e.PID, when, how)
	if e.Cause != CauseUnknown {
		msg += "; cause: " + e.Cause.String()
	}
	return msg + formatTail(e.LogTail)
}

// Retryable is true for a server that died while serving: a managed
// driver that restarts servers can answer the next attempt.
func (e *ServerExitedError) Retryable() bool { return !e.DuringStartup }

// HTTPError is a non-success answer from a server that is not covered by
// a more specific type.
type HTTPError struct {
	StatusCode int
	// Message is the server's error message, from an OpenAI error object
	// when there is one, else the start of the body.
	Message string
	// Code is the error object's code, when it has one.
	Code string
}

// ModelFileErrorCode is the error code with which tether serve answers a
// request its model file cannot serve (a chat template it cannot use):
// a problem of the file, which no retry fixes.
const ModelFileErrorCode = "model_file_error"

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("server answered HTTP %d: %s", e.StatusCode, e.Message)
}

// Retryable is true for 408, 429 and 5xx, but not for a model file the
// server cannot use.
func (e *HTTPError) Retryable() bool {
	if e.Code == ModelFileErrorCode {
		return false
	}
	return e.StatusCode == 408 || e.StatusCode == 429 || e.StatusCode >= 500
}

// RateLimitedError means the server refused the request for now: rate
// limited (429) or overloaded (503 and similar).
type RateLimitedError struct {
	StatusCode int
	Overloaded bool
	// RetryAfter is the server's requested delay, or 0 if it gave none.
	RetryAfter time.Duration
	Message    string
}

func (e *RateLimitedError) Error() string {
	what := "rate limited"
	if e.Overloaded {
		what = "overloaded"
	}
	msg := fmt.Sprintf("server %s (HTTP %d)", what, e.StatusCode)
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *RateLimitedError) Retryable() bool { return true }

// ContextOverflowError means prompt plus answer do not fit the context
// window. Nothing was truncated.
type ContextOverflowError struct {
	// Required and Available are token counts; 0 if the server did not
	// say.
	Required  int
	Available int
	Message   string
}

func (e *ContextOverflowError) Error() string {
	if e.Required > 0 && e.Available > 0 {
		return fmt.Sprintf("context overflow: %d tokens needed, %d available", e.Required, e.Available)
	}
	if e.Message != "" {
		return "context overflow: " + e.Message
	}
	return "context overflow"
}

func (e *ContextOverflowError) Retryable() bool { return false }

// ModelFileError means a model file is missing, unreadable or invalid.
type ModelFileError struct {
	Path   string
	Reason string
	Err    error
}

func (e *ModelFileError) Error() string {
	msg := fmt.Sprintf("model %s: %s", e.Path, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ModelFileError) Unwrap() error   { return e.Err }
func (e *ModelFileError) Retryable() bool { return false }

// RequestError means the request itself is invalid; sending it again
// cannot help.
type RequestError struct{ Reason string }

func (e *RequestError) Error() string   { return "invalid request: " + e.Reason }
func (e *RequestError) Retryable() bool { return false }

// ProtocolError means a server's answer could not be understood.
type ProtocolError struct {
	Reason string
	Err    error
}

func (e *ProtocolError) Error() string {
	if e.Err != nil {
		return "bad server answer: " + e.Reason + ": " + e.Err.Error()
	}
	return "bad server answer: " + e.Reason
}

func (e *ProtocolError) Unwrap() error   { return e.Err }
func (e *ProtocolError) Retryable() bool { return false }

// TransportError means the request did not reach the server or the
// connection broke: refused, reset, closed mid-stream, timed out.
type TransportError struct {
	Op  string
	Err error
}

func (e *TransportError) Error() string   { return e.Op + ": " + e.Err.Error() }
func (e *TransportError) Unwrap() error   { return e.Err }
func (e *TransportError) Retryable() bool { return true }

// formatTail renders a log tail for an error message.
func formatTail(tail string) string {
	tail = strings.TrimRight(tail, "\n")
	if tail == "" {
		return ""
	}
	return "\nserver output (last lines):\n" + tail
}

// ConfigError means a setting — a flag, an option or an operator's
// environment variable — has a value tether cannot use. Settings are
// never silently ignored.
type ConfigError struct {
	// Setting names it: "APR_AGENT_TOP_P", "--max-tokens".
	Setting string
	Value   string
	Reason  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Setting, e.Value, e.Reason)
}

func (e *ConfigError) Retryable() bool { return false }
