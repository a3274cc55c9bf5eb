package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/supervisor"
)

func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{context.Canceled, ExitInterrupted},
		{&llm.ModelFileError{Path: "m.gguf", Reason: "bad"}, ExitModel},
		{&llm.StartupTimeoutError{}, ExitServerStart},
		// Another server kept the port after the retries: ours did not
		// start, whatever the foreign one answers.
		{fmt.Errorf("launch: %w", &supervisor.ForeignServerError{Backend: "llama-server", Reason: "no key"}), ExitServerStart},
		{&llm.ServerExitedError{DuringStartup: true}, ExitServerStart},
		{&llm.ServerExitedError{}, ExitRequestFailed},
		{&llm.ServerExitedError{Cause: llm.CauseBadModel}, ExitModel},
		{&llm.HTTPError{StatusCode: 500}, ExitRequestFailed},
		{errors.New("something else"), ExitFailure},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestStartupTimeoutHint: the CLI names the variable that sets the
// start-up budget; the library's error does not.
func TestStartupTimeoutHint(t *testing.T) {
	err := &llm.StartupTimeoutError{Backend: "llama-server", Budget: time.Second, LastState: "loading"}
	if strings.Contains(err.Error(), managed.EnvReadyTimeout) {
		t.Errorf("the library's error names the CLI's variable: %q", err)
	}
	var b strings.Builder
	printError(&b, fmt.Errorf("run: %w", err))
	if !strings.Contains(b.String(), managed.EnvReadyTimeout) {
		t.Errorf("the CLI's message does not name %s: %q", managed.EnvReadyTimeout, b.String())
	}
}
