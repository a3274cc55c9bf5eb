package main

import (
	"bufio"
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

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/testbin"
)

// TestSignalsStopTheServer runs the real tether binary, sends it SIGTERM
// or SIGINT while an answer streams, and checks that the server it
// launched is gone when it exits.
func TestSignalsStopTheServer(t *testing.T) {
	tether := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	fault := testbin.Build(t, testbin.FaultServer)
	model := filepath.Join(t.TempDir(), "m.gguf")
	w := gguf.NewWriter()
	w.Set("general.architecture", "llama")
	if err := w.WriteFile(model); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "server.pid")
			script := fmt.Sprintf("#!/bin/sh\necho $$ > %s\nexec %s --fault-chunk-delay=500ms --fault-answer='a b c d e f g h' \"$@\"\n", pidFile, fault)
			if err := os.WriteFile(filepath.Join(dir, "llama-server"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tether, "run", "--model", model, "--backend", "llama-server", "hi")
			cmd.Env = append(os.Environ(), "PATH="+dir)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the first piece of the answer, then signal.
			if _, err := bufio.NewReader(stdout).ReadByte(); err != nil {
				t.Fatalf("no answer: %v", err)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 130 {
				t.Fatalf("tether exited with %v, want status 130", err)
			}
			data, _ := os.ReadFile(pidFile)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			if pid == 0 {
				t.Fatal("server never started")
			}
			deadline := time.Now().Add(3 * time.Second)
			for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
				if time.Now().After(deadline) {
					t.Fatalf("server %d outlived tether", pid)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestDemo runs the README's main-job command on the real binary: a
// synthetic model, tether serve through the managed driver, a streamed
// tool call, one round trip, and a clean shutdown.
func TestDemo(t *testing.T) {
	tether := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	out, err := exec.Command(tether, "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("tether demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"[tool call", "get_weather {\"city\":\"Paris\"}]", "round trip complete", "nothing left running", "done in",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
