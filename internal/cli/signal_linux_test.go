//go:build linux

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/supervisor"
)

// TestServeStopsWhileTheModelLoadHangs runs the real binary on a model that
// never finishes loading (a FIFO nobody writes to: the load blocks opening
// it) and checks that SIGTERM ends the process, with status 0, as it does
// once the model is loaded. The bound is far above the few milliseconds
// the stop takes; a server that ignores the signal never exits at all.
func TestServeStopsWhileTheModelLoadHangs(t *testing.T) {
	// The testhooks build holds the load for ever, as a hung disk would.
	bin := testbin.BuildTags(t, "github.com/tetherllm/tether/cmd/tether", "testhooks")
	model := tinyModel(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "run", model, "--port", "0")
			cmd.Env = append(os.Environ(), "TETHER_TEST_HOLD_LOAD=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			lines := bufio.NewScanner(stderr)
			var seen []string
			for lines.Scan() {
				seen = append(seen, lines.Text())
				if strings.Contains(lines.Text(), "listening on") {
					break
				}
			}
			if len(seen) == 0 || !strings.Contains(seen[len(seen)-1], "listening on") {
				t.Fatalf("the server never said it listens: %q", seen)
			}
			cmd.Process.Signal(sig)
			exited := make(chan error, 1)
			go func() {
				for lines.Scan() {
					seen = append(seen, lines.Text())
				}
				exited <- cmd.Wait()
			}()
			select {
			case err := <-exited:
				var exit *exec.ExitError
				if err != nil && !errors.As(err, &exit) {
					t.Fatal(err)
				}
				if err != nil {
					t.Fatalf("exit %v, want status 0; stderr:\n%s", err, strings.Join(seen, "\n"))
				}
				if last := seen[len(seen)-1]; !strings.Contains(last, "stopped before the model finished loading") {
					t.Fatalf("last line %q", last)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("tether serve still running 20s after %s while the load hangs", sig)
			}
		})
	}
}

// TestRunLeavesNoEscapedGrandchild runs the real binary with a server whose
// child leaves the process group (setsid) and checks that the child is gone
// after tether run ends normally, and after tether run is killed with
// SIGKILL mid-answer.
func TestRunLeavesNoEscapedGrandchild(t *testing.T) {
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	fault := testbin.Build(t, testbin.FaultServer)
	model := tinyModel(t)
	for _, c := range []struct{ end, noCgroup string }{
		{"normal end", ""},
		{"normal end without a cgroup", "1"}, // the process tree and the subreaper
		{"SIGKILL", ""},                      // the watchdog kills the cgroup
		{"SIGKILL without a cgroup", "1"},    // the watchdog kills what the tree showed
	} {
		end := c.end
		t.Run(end, func(t *testing.T) {
			dir := t.TempDir()
			script := "#!/bin/sh\nexec " + fault + " --fault-grandchild=escape --fault-chunk-delay=300ms --fault-answer='a b c d e f' \"$@\"\n"
			if err := os.WriteFile(filepath.Join(dir, "llama-server"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(dir, "server.log")
			cmd := exec.Command(bin, "run", "--model", model, "--backend", "llama-server", "--log-file", logFile, "hi")
			cmd.Env = append(os.Environ(), "PATH="+dir, managed.EnvNoCgroup+"="+c.noCgroup)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			out := bufio.NewReader(stdout)
			if _, err := out.ReadByte(); err != nil { // the answer has started
				t.Fatalf("no answer: %v", err)
			}
			gc := grandchildPID(t, logFile)
			t.Cleanup(func() { syscall.Kill(gc, syscall.SIGKILL) })
			// The operator's variable decides whether the server gets a
			// cgroup of its own.
			own := cgroupOf(t, gc) != cgroupOf(t, cmd.Process.Pid)
			if c.noCgroup == "1" && own {
				t.Fatalf("the server has a cgroup of its own with %s=1", managed.EnvNoCgroup)
			}
			if c.noCgroup == "" && !own && supervisor.CgroupsAvailable() == nil {
				t.Fatal("the server shares tether's cgroup although it could have one of its own")
			}
			if strings.HasPrefix(end, "SIGKILL") {
				cmd.Process.Signal(syscall.SIGKILL)
			}
			io.Copy(io.Discard, out)
			cmd.Wait()
			// tether's stop ladder, or its watchdog's grace (2 s) after a
			// SIGKILL, comes first.
			if !exitedWithin(t, gc, 10*time.Second) {
				t.Fatalf("the server's escaped child %d outlived tether run (%s)", gc, end)
			}
		})
	}
}

// cgroupOf is the cgroup v2 path of a process.
func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// grandchildPID reads the fault server's grandchild from the server log.
func grandchildPID(t *testing.T, logFile string) int {
	t.Helper()
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		var pid int
		if _, err := fmt.Sscanf(line, "faultserver: grandchild pid %d", &pid); err == nil && pid > 0 {
			return pid
		}
	}
	t.Fatalf("no grandchild in the server log:\n%s", data)
	return 0
}

// exitedWithin waits for pid to end (a zombie counts), woken by its exit
// through a pidfd.
func exitedWithin(t *testing.T, pid int, d time.Duration) bool {
	t.Helper()
	zombieOrGone := func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		i := strings.LastIndexByte(string(b), ')')
		return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH) || zombieOrGone()
	}
	defer unix.Close(fd)
	if zombieOrGone() {
		return true
	}
	n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(d.Milliseconds()))
	return n > 0
}
