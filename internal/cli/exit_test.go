package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/internal/testserve"
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

// TestErrorsNameTetherOnce: the library's errors carry no program name,
// however many layers wrap them; the CLI adds "tether: " once, at the
// start of the message.
func TestErrorsNameTetherOnce(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, k := range []string{"APR_AGENT_MAX_TOKENS_CAP", "APR_AGENT_TEMPERATURE", "APR_AGENT_HTTP_TIMEOUT_S", "TETHER_API_KEY"} {
		t.Setenv(k, "")
	}
	dead := testserve.DeadURL(t)
	route := writeConfig(t, "[endpoints.a]\nurl = \""+dead+"\"\n[endpoints.b]\nurl = \""+dead+"\"\n[routes.r]\nuse = [\"a\", \"b\"]\n")
	badConfig := writeConfig(t, "[endpoints.a]\nurl = \n")
	messages := filepath.Join(t.TempDir(), "messages.json")
	if err := os.WriteFile(messages, []byte(`{"role":`), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "none.gguf")
	for _, c := range []struct {
		name string
		args []string
		want string // a word of the message
	}{
		{"every driver of a route failed", []string{"run", "--config", route, "--route", "r", "hi"}, "every driver failed"},
		{"dead endpoint", []string{"run", "--endpoint", dead, "hi"}, "listing models"},
		{"missing model", []string{"run", "--backend", "tether", "--model", missing, "hi"}, "none.gguf"},
		{"unknown backend", []string{"run", "--backend", "nosuch", "--model", messages, "hi"}, "unknown backend"},
		{"bad messages file", []string{"run", "--endpoint", dead, "--messages", messages}, "--messages"},
		{"bad configuration", []string{"run", "--config", badConfig, "hi"}, "tether.toml:2"},
		{"model inspect", []string{"model", "inspect", missing}, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := tether(t, context.Background(), c.args...)
			lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
			last := ""
			for _, l := range lines {
				if !strings.HasPrefix(l, " ") {
					last = l // the message; indented lines are a log tail
				}
			}
			if code == ExitOK || !strings.HasPrefix(last, "tether: ") || strings.Count(errs, "tether: ") != strings.Count(errs, "\ntether: ")+1 ||
				strings.Contains(errs, "tether: tether") || !strings.Contains(last, c.want) {
				t.Fatalf("exit %d, stderr %q; want one \"tether: \" at the start of each line, and %q", code, errs, c.want)
			}
		})
	}
}
