package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/supervisor"
)

// The bounds of one shell result. The start of a command's output usually
// says what it is doing and the end how it finished (the failing test, the
// compiler's last error), so a long output keeps both and drops the middle.
const (
	shellHeadBytes = 8 << 10
	shellTailBytes = 24 << 10
	// shellDrainWait is how long the output is read after the command's
	// process group is gone. Only a process that left the group (setsid,
	// a daemon) can still hold the output pipe open; it is not waited for.
	shellDrainWait = 2 * time.Second
)

// shellTool is shell: run a command with /bin/sh in the workspace.
type shellTool struct {
	ws                  *Workspace
	timeout, maxTimeout time.Duration
	env                 []string
}

type shellInput struct {
	Command  string `json:"command"`
	TimeoutS int    `json:"timeout_s"`
}

func (t shellTool) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "shell",
		Description: fmt.Sprintf("Run a command with /bin/sh -c in the workspace root directory and return its combined standard output and error, "+
			"followed by its exit status. A non-zero exit status is reported, not treated as a failure of the tool. "+
			"Standard input is empty: interactive commands cannot be answered. The command is killed, with every process it started, "+
			"when it exceeds its timeout (default %s, at most %s) and when it finishes: background processes do not outlive it. "+
			"Output longer than %d KiB keeps its first %d KiB and its last %d KiB.",
			t.timeout, t.maxTimeout, (shellHeadBytes+shellTailBytes)>>10, shellHeadBytes>>10, shellTailBytes>>10),
		InputSchema: json.RawMessage(`{"type":"object","properties":{` +
			`"command":{"type":"string","description":"Shell command line, run by /bin/sh -c."},` +
			`"timeout_s":{"type":"integer","minimum":1,"maximum":` + fmt.Sprint(int(t.maxTimeout/time.Second)) + `,"description":"Seconds before the command is killed. Default ` + fmt.Sprint(int(t.timeout/time.Second)) + `."}` +
			`},"required":["command"],"additionalProperties":false}`),
	}
}

func (t shellTool) decode(input json.RawMessage) (shellInput, time.Duration, error) {
	var in shellInput
	if err := decodeInput("shell", input, &in); err != nil {
		return in, 0, err
	}
	if strings.TrimSpace(in.Command) == "" {
		return in, 0, errors.New("shell: command is required")
	}
	if strings.IndexByte(in.Command, 0) >= 0 {
		return in, 0, errors.New("shell: command contains a NUL byte")
	}
	timeout := t.timeout
	if in.TimeoutS < 0 {
		return in, 0, errors.New("shell: timeout_s must be positive")
	}
	if in.TimeoutS > 0 {
		if time.Duration(in.TimeoutS) > t.maxTimeout/time.Second {
			return in, 0, fmt.Errorf("shell: timeout_s %d is over the maximum of %d", in.TimeoutS, int(t.maxTimeout/time.Second))
		}
		timeout = time.Duration(in.TimeoutS) * time.Second
	}
	return in, timeout, nil
}

func (t shellTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	in, timeout, err := t.decode(input)
	if err != nil {
		return "", err
	}
	return runShell(ctx, t.ws.Dir(), in.Command, t.env, timeout)
}

// runShell runs command in dir in a process group of its own, so that
// everything it starts can be killed together: on timeout, on ctx's end,
// and when the shell itself exits.
func runShell(ctx context.Context, dir, command string, env []string, timeout time.Duration) (string, error) {
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	r, w, err := os.Pipe()
	if err != nil {
		return "", fmt.Errorf("shell: %w", err)
	}
	cmd := exec.CommandContext(runCtx, "/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	// One *os.File for both streams keeps their interleaving as the
	// command wrote it, and lets Wait return when the shell exits instead
	// of when the last holder of a copying pipe lets go.
	cmd.Stdout, cmd.Stderr = w, w
	inNewGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = shellDrainWait
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return "", fmt.Errorf("shell: %w", err)
	}
	w.Close()
	// tether adopts orphans and kills those a server leaves; this child
	// is no orphan.
	defer supervisor.OwnChild(cmd.Process.Pid)()
	stopWatchdog, err := startShellWatchdog(cmd.Process.Pid)
	if err != nil {
		_ = killGroup(cmd)
		_ = cmd.Wait()
		r.Close()
		return "", fmt.Errorf("shell: no watchdog for the command: %w", err)
	}

	out := newHeadTail(shellHeadBytes, shellTailBytes)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(out, r)
	}()

	waitErr := waitThenKillGroup(cmd, stopWatchdog)

	select {
	case <-drained:
	case <-time.After(shellDrainWait):
	}
	r.Close()
	<-drained

	text := out.String()
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("shell: stopped: %w", ctx.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("shell: the command timed out after %s and was killed with every process it started; its output until then:\n%s", timeout, text)
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		return text + "[exit status 0]", nil
	case errors.As(waitErr, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return text + fmt.Sprintf("[killed by signal %s]", ws.Signal()), nil
		}
		return text + fmt.Sprintf("[exit status %d]", exitErr.ExitCode()), nil
	default:
		return "", fmt.Errorf("shell: %w", waitErr)
	}
}

// headTail is an io.Writer that keeps the first head bytes and the last
// tail bytes written to it and counts what it drops in between, so that a
// command printing gigabytes costs a bounded amount of memory.
type headTail struct {
	mu         sync.Mutex
	head, tail []byte
	headMax    int
	tailMax    int
	dropped    int64
}

func newHeadTail(head, tail int) *headTail {
	return &headTail{headMax: head, tailMax: tail}
}

func (h *headTail) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	if room := h.headMax - len(h.head); room > 0 {
		k := min(room, len(p))
		h.head = append(h.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	h.tail = append(h.tail, p...)
	if over := len(h.tail) - h.tailMax; over > 0 {
		h.dropped += int64(over)
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
	return n, nil
}

// String is the kept output, with a marker where bytes were dropped. The
// cut edges are moved to UTF-8 boundaries so the result stays valid text.
func (h *headTail) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dropped == 0 {
		return string(h.head) + string(h.tail)
	}
	tail := h.tail
	// Skip continuation bytes at the start of the kept tail.
	skipped := 0
	for skipped < len(tail) && skipped < 3 && tail[skipped]&0xC0 == 0x80 {
		skipped++
	}
	head := trimPartialRune(h.head)
	return fmt.Sprintf("%s\n[... %d bytes of output omitted ...]\n%s", head, h.dropped+int64(skipped), tail[skipped:])
}
