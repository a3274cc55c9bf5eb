//go:build unix

package cli

import (
	"bufio"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testbin"
)

// TestServeStopsWhileTheModelLoadHangs runs the real binary on a model that
// never finishes loading (a FIFO nobody writes to: the load blocks opening
// it) and checks that SIGTERM ends the process, with status 0, as it does
// once the model is loaded. The bound is far above the few milliseconds
// the stop takes; a server that ignores the signal never exits at all.
func TestServeStopsWhileTheModelLoadHangs(t *testing.T) {
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	model := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(model, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "run", model, "--port", "0")
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
