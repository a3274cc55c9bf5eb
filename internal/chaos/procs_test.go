package main

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestMarkedFindsATrialsProcesses starts a shell under a trial's marker
// that starts a child of its own in a new session with an empty
// environment (as the fault server's escaping grandchild does) but the
// trial's program: both are found, and neither once they are killed.
func TestMarkedFindsATrialsProcesses(t *testing.T) {
	dir := t.TempDir()
	m := newMarked("test-"+filepath.Base(dir), dir)
	// The trial's own program: a copy of sleep in the trial's directory.
	sleep := filepath.Join(dir, "sleeper")
	if err := installServer("/bin/sleep", dir, "sleeper"); err != nil {
		t.Fatal(err)
	}
	c, err := startChild(m, nil, "/bin/sh", "-c", "env -i setsid "+sleep+" 60 & exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	var found []proc
	for range 200 {
		if found = m.scan(); len(found) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(found) != 2 {
		t.Fatalf("found %s, want the shell's sleep and the escaped sleeper", describe(found))
	}
	for _, p := range found {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
	if _, live := m.awaitNone(context.Background(), 5*time.Second); len(live) > 0 {
		t.Fatalf("still found after SIGKILL: %s", describe(live))
	}
	if other := newMarked("another", t.TempDir()); len(other.scan()) != 0 {
		t.Fatalf("another trial's marker finds %s", describe(other.scan()))
	}
}
