//go:build unix

package localserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTempDirsOfGoneProcessesAreSwept makes launch directories as a
// killed process would leave them, and checks that the sweep removes
// those of a process that is gone and keeps the others.
func TestTempDirsOfGoneProcessesAreSwept(t *testing.T) {
	base := t.TempDir()
	ended := exec.Command("/bin/sh", "-c", "exit 0")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	dir := func(pid int, name string) string {
		d := filepath.Join(base, fmt.Sprintf("tether-%d-%s", pid, name))
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "api-key"), []byte("k\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	gone := dir(ended.Process.Pid, "llama-server-123")
	mine := dir(os.Getpid(), "tether-456")
	alive := dir(os.Getppid(), "789")
	other := filepath.Join(base, "tether-notapid-1")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	sweepTempDirs(base)
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the directory of gone process %d is still there (%v)", ended.Process.Pid, err)
	}
	for _, d := range []string{mine, alive, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was swept: %v", d, err)
		}
	}
}

// TestTempDirIsPrivateAndNamedAfterTheProcess checks what the sweep
// relies on.
func TestTempDirIsPrivateAndNamedAfterTheProcess(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir, remove, err := TempDir("llama-server")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v, want mode 0700", dir, info.Mode(), err)
	}
	if want := fmt.Sprintf("tether-%d-llama-server-", os.Getpid()); !strings.HasPrefix(filepath.Base(dir), want) {
		t.Fatalf("%s is not named %s…", dir, want)
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("remove left %s (%v)", dir, err)
	}
}
