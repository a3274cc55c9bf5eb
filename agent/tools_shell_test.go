//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

func TestShellExitStatus(t *testing.T) {
	s := newSandbox(t, ToolOptions{Shell: true})
	out, err := s.run(t, "shell", map[string]any{"command": "pwd; echo out; echo err >&2; exit 2"})
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(s.dir)
	if !strings.HasSuffix(out, "[exit status 2]") || !strings.Contains(out, "out\nerr\n") {
		t.Fatalf("got %q", out)
	}
	if first, _, _ := strings.Cut(out, "\n"); first != s.dir && first != real {
		t.Fatalf("working directory %q, want %q", first, s.dir)
	}
	if out, err := s.run(t, "shell", map[string]any{"command": "true"}); err != nil || out != "[exit status 0]" {
		t.Fatalf("true: %q, %v", out, err)
	}
	if out, err := s.run(t, "shell", map[string]any{"command": "kill -TERM $$"}); err != nil || !strings.Contains(out, "killed by signal terminated") {
		t.Fatalf("signal: %q, %v", out, err)
	}
	// Standard input is empty, so a command reading it ends.
	if out, err := s.run(t, "shell", map[string]any{"command": "cat; echo done"}); err != nil || out != "done\n[exit status 0]" {
		t.Fatalf("stdin: %q, %v", out, err)
	}
	for _, bad := range []map[string]any{
		{"command": ""},
		{"command": "   "},
		{"command": "true", "timeout_s": -1},
		{"command": "true", "timeout_s": 100000},
		{"cmd": "true"},
	} {
		if _, err := s.run(t, "shell", bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestShellEnvironmentHasNoSecrets: commands see the agent's environment
// less the variables that hold secrets, whose values would otherwise go
// into the conversation.
func TestShellEnvironmentHasNoSecrets(t *testing.T) {
	t.Setenv("TETHER_API_KEY", "sk-tether")
	t.Setenv("GITHUB_TOKEN", "ghp-token")
	t.Setenv("db_password", "hunter2")
	t.Setenv("AGENT_PLAIN", "visible")
	s := newSandbox(t, ToolOptions{Shell: true})
	out, err := s.run(t, "shell", map[string]any{"command": "env"})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sk-tether", "ghp-token", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("the command saw %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "AGENT_PLAIN=visible") || !strings.Contains(out, "PATH=") {
		t.Errorf("the command lost the plain environment:\n%s", out)
	}
	// A caller's environment is taken as given.
	s = newSandbox(t, ToolOptions{Shell: true, ShellEnv: []string{"ONLY=this"}})
	if out, err := s.run(t, "shell", map[string]any{"command": "echo $ONLY $AGENT_PLAIN"}); err != nil || !strings.HasPrefix(out, "this\n") {
		t.Errorf("ShellEnv: %q, %v", out, err)
	}
}

// gone reports whether process pid has ended: it no longer exists, or it
// is a zombie waiting for its new parent to reap it.
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// waitGone polls until pid has ended. The bound is generous: the kill has
// already been sent, so only a loaded machine makes this take long.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 2000 {
		if gone(pid) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d is still running", pid)
}

// readPID waits until the command under test has written its background
// child's pid to the file.
func readPID(t *testing.T, file string) int {
	t.Helper()
	for range 2000 {
		b, err := os.ReadFile(file)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the command never wrote its pid")
	return 0
}

func TestShellTimeoutKillsGroup(t *testing.T) {
	// The grandchild sleeps far longer than any test runs; only the
	// group kill ends it. "wait" keeps the shell itself busy too. A
	// loaded machine may not start the grandchild before a short
	// timeout; then the test tries again with a longer one.
	for _, timeout := range []time.Duration{300 * time.Millisecond, 2 * time.Second, 10 * time.Second} {
		s := newSandbox(t, ToolOptions{Shell: true, ShellTimeout: timeout})
		out, err := s.run(t, "shell", map[string]any{"command": "echo started; sleep 600 & echo $! > pid.tmp; mv pid.tmp pid; wait"})
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("got %q, %v", out, err)
		}
		if _, statErr := os.Stat(filepath.Join(s.dir, "pid")); statErr != nil {
			continue
		}
		if !strings.Contains(err.Error(), "started") {
			t.Fatalf("the output before the timeout is missing: %v", err)
		}
		waitGone(t, readPID(t, filepath.Join(s.dir, "pid")))
		return
	}
	t.Fatal("the command never started its background child")
}

func TestShellKillsLeftovers(t *testing.T) {
	s := newSandbox(t, ToolOptions{Shell: true})
	// The shell exits at once, leaving a background child holding the
	// output pipe; the result comes without waiting for it, and the
	// child does not outlive the call.
	out, err := s.run(t, "shell", map[string]any{"command": "sleep 600 & echo $! > pid; echo bye"})
	if err != nil || out != "bye\n[exit status 0]" {
		t.Fatalf("got %q, %v", out, err)
	}
	waitGone(t, readPID(t, filepath.Join(s.dir, "pid")))
}

// TestShellDiesWithTheAgent: a command still running when its agent is
// killed with SIGKILL, which leaves the agent no chance to clean up, is
// killed with everything it started, by the command's watchdog.
func TestShellDiesWithTheAgent(t *testing.T) {
	dir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), shellParentEnv+"="+dir)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parent.Process.Kill(); parent.Wait() })
	child := readPID(t, filepath.Join(dir, "pid"))
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	parent.Process.Kill()
	parent.Wait()
	waitGone(t, child)
}

func TestShellCancel(t *testing.T) {
	s := newSandbox(t, ToolOptions{Shell: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pidFile := filepath.Join(s.dir, "pid")
	done := make(chan error, 1)
	go func() {
		_, err := s.runCtx(ctx, t, "shell", map[string]any{"command": "sleep 600 & echo $! > pid; wait"})
		done <- err
	}()
	pid := readPID(t, pidFile)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	waitGone(t, pid)
}

func TestShellOutputBound(t *testing.T) {
	s := newSandbox(t, ToolOptions{Shell: true})
	// 1 MB of output: the head's start and the tail's end survive.
	out, err := s.run(t, "shell", map[string]any{"command": "echo FIRST; i=0; while [ $i -lt 20000 ]; do echo 'ééééééééééééééééééééééé'; i=$((i+1)); done; echo LAST"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > shellHeadBytes+shellTailBytes+100 {
		t.Fatalf("result is %d bytes", len(out))
	}
	if !strings.HasPrefix(out, "FIRST\n") || !strings.HasSuffix(out, "LAST\n[exit status 0]") || !strings.Contains(out, "bytes of output omitted") {
		t.Fatalf("got %.60q … %.60q", out, out[len(out)-60:])
	}
	if !utf8.ValidString(out) {
		t.Fatal("cut output is not valid UTF-8")
	}
}

func TestHeadTail(t *testing.T) {
	h := newHeadTail(4, 6)
	for _, p := range []string{"ab", "cdef", "ghij", "klmnop"} {
		if n, err := h.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatal(n, err)
		}
	}
	if got := h.String(); got != "abcd\n[... 6 bytes of output omitted ...]\nklmnop" {
		t.Fatalf("got %q", got)
	}
	short := newHeadTail(4, 6)
	short.Write([]byte("abcdefg"))
	if got := short.String(); got != "abcdefg" {
		t.Fatalf("got %q", got)
	}
}
