//go:build unix

package gguf

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenRefusesNonRegularFiles opens a named pipe with no writer (a
// plain open would wait for one for ever), a directory and a character
// device: each is ErrNotRegular at once, naming what it is.
func TestOpenRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.gguf")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for path, kind := range map[string]string{fifo: "a named pipe", dir: "a directory", "/dev/null": "a character device"} {
		f, err := Open(path)
		if err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", path)
			continue
		}
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), kind) {
			t.Errorf("Open(%s): %v, want ErrNotRegular naming %s", path, err, kind)
		}
	}
}
