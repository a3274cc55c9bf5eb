package agent

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// shellParentEnv makes the test binary a stand-in for tether code: it runs
// one long shell command in the workspace it names, and waits there to be
// killed.
const shellParentEnv = "TETHER_AGENT_TEST_SHELL_PARENT"

func TestMain(m *testing.M) {
	if dir := os.Getenv(shellParentEnv); dir != "" {
		os.Exit(runShellParent(dir))
	}
	os.Exit(m.Run())
}

// runShellParent runs a command that starts a background child, writes
// its pid, and waits for it: a command still running when its agent dies.
func runShellParent(dir string) int {
	ws, err := OpenWorkspace(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, tool := range Builtin(ws, ToolOptions{Shell: true}) {
		if tool.Def().Name == "shell" {
			out, err := tool.Run(context.Background(), []byte(`{"command":"sleep 600 & echo $! > pid.tmp; mv pid.tmp pid; wait"}`))
			fmt.Fprintln(os.Stderr, out, err)
		}
	}
	return 1
}
