//go:build unix

package cli

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestModelInspectFIFO inspects a named pipe nobody writes to: reading it
// would block for ever; inspect fails at once with exit status 3.
func TestModelInspectFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	code, out, errs := tether(t, context.Background(), "model", "inspect", path)
	want := "tether: model " + path + ": is a named pipe, not a regular GGUF file\n"
	if code != ExitModel || out != "" || errs != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errs, ExitModel, want)
	}
}
