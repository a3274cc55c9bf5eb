package agent

import (
	"os"
	"strings"
	"time"
)

// ToolOptions chooses and tunes the tools [Builtin] returns.
type ToolOptions struct {
	// Shell includes the shell tool. It is off unless asked for because a
	// command, unlike the file tools, can read and change anything the
	// user can, outside the workspace too.
	Shell bool
	// ShellTimeout is how long a command runs before it is killed when
	// the model names no timeout. Zero means 120 seconds.
	ShellTimeout time.Duration
	// ShellMaxTimeout is the longest timeout the model may ask for. Zero
	// means 10 minutes, or ShellTimeout where that is longer.
	ShellMaxTimeout time.Duration
	// ShellEnv is the commands' environment. Nil means this process's,
	// less every variable whose name says it holds a secret (see
	// [WithoutSecrets]): a command's output goes into the conversation,
	// which may travel to a remote endpoint.
	ShellEnv []string
}

// WithoutSecrets returns env less the variables whose names contain KEY,
// TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL or AUTH, in any case
// (TETHER_API_KEY, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY …).
func WithoutSecrets(env []string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		secret := false
		for _, word := range []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"} {
			if strings.Contains(upper, word) {
				secret = true
				break
			}
		}
		if !secret {
			kept = append(kept, kv)
		}
	}
	return kept
}

// Builtin returns the agent's built-in tools over ws, in a stable order
// (read_file, write_file, edit_file, list_files, grep, then shell when
// o.Shell is set), so that the tool list a model sees, and a prompt cache
// built on it, is the same from one run to the next.
func Builtin(ws *Workspace, o ToolOptions) []Tool {
	tools := []Tool{
		readFileTool{ws},
		writeFileTool{ws},
		editFileTool{ws},
		listFilesTool{ws},
		grepTool{ws},
	}
	if o.Shell {
		timeout := o.ShellTimeout
		if timeout <= 0 {
			timeout = 120 * time.Second
		}
		maxTimeout := o.ShellMaxTimeout
		if maxTimeout <= 0 {
			maxTimeout = 10 * time.Minute
		}
		maxTimeout = max(maxTimeout, timeout)
		env := o.ShellEnv
		if env == nil {
			env = WithoutSecrets(os.Environ())
		}
		tools = append(tools, shellTool{ws: ws, timeout: timeout, maxTimeout: maxTimeout, env: env})
	}
	return tools
}
