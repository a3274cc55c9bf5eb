package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tetherllm/tether/agent"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/driver/router"
	"github.com/tetherllm/tether/internal/config"
	"github.com/tetherllm/tether/llm"
)

// Exit codes. Scripts branch on them, so they never change meaning.
const (
	ExitOK            = 0
	ExitFailure       = 1 // anything not covered below
	ExitUsage         = 2 // bad flags or arguments
	ExitModel         = 3 // the model file (or another input file) is missing or invalid
	ExitServerStart   = 4 // the server could not be found or did not start
	ExitRequestFailed = 5 // the server started but the request failed
	// ExitDoctorProblems (6, doctor.go): tether doctor found something
	// configured or asked about broken.
	ExitAgentLimit  = 7 // tether code: a limit stopped the agent before it answered
	ExitInterrupted = 130
)

// usageError marks an error as the user's bad flags or arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// inputFileError marks a problem with a file the user gave (tools,
// messages): the same class as a bad model file.
type inputFileError struct{ err error }

func (e inputFileError) Error() string { return e.err.Error() }
func (e inputFileError) Unwrap() error { return e.err }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var (
		usage    usageError
		input    inputFileError
		model    *llm.ModelFileError
		notFound *llm.BinaryNotFoundError
		timeout  *llm.StartupTimeoutError
		exited   *llm.ServerExitedError
		setting  *llm.ConfigError
		file     *config.Error
		// exhausted is a route whose every driver failed: the request
		// failed, whatever the drivers' reasons.
		exhausted *router.ExhaustedError
		problems  doctorProblems
		// foreign is another server answering on the port ours was to
		// take (supervisor.ForeignServerError): a start-up failure.
		foreign interface{ Cause() llm.ExitCause }
		httpErr *llm.HTTPError
		limit   *agent.LimitError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &problems):
		return ExitDoctorProblems
	case errors.As(err, &usage), errors.As(err, &setting), errors.As(err, &file):
		return ExitUsage
	case errors.As(err, &exhausted):
		return ExitRequestFailed
	case errors.As(err, &limit):
		return ExitAgentLimit
	case errors.As(err, &input), errors.As(err, &model):
		return ExitModel
	case errors.As(err, &httpErr) && httpErr.Code == llm.ModelFileErrorCode:
		// The server loaded the model file but cannot serve from it
		// (tether serve with a chat template it cannot use).
		return ExitModel
	case errors.As(err, &notFound), errors.As(err, &timeout), errors.As(err, &foreign):
		return ExitServerStart
	case errors.As(err, &exited):
		if exited.Cause == llm.CauseBadModel {
			// The server read the model file and refused it: the same
			// class as a model file tether itself finds invalid.
			return ExitModel
		}
		if exited.DuringStartup {
			return ExitServerStart
		}
		return ExitRequestFailed
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) { // any other driver error: the request failed
		return ExitRequestFailed
	}
	return ExitFailure
}

// printError writes err for a person: the first line as the message, the
// rest (a server's log tail) indented below it. The library's errors carry
// no program name; this is the one place that adds it.
func printError(w io.Writer, err error) {
	first, rest, _ := strings.Cut("tether: "+err.Error(), "\n")
	var timeout *llm.StartupTimeoutError
	if errors.As(err, &timeout) {
		// The budget is the CLI's setting; the library's error does not
		// know how its caller chose it.
		first += " (raise the budget with " + managed.EnvReadyTimeout + ")"
	}
	fmt.Fprintln(w, first)
	for line := range strings.SplitSeq(rest, "\n") {
		if line != "" {
			fmt.Fprintln(w, "  "+line)
		}
	}
}
