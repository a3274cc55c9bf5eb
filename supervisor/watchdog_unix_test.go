//go:build unix

package supervisor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestWatchdogDoesNotWaitForACgroupAlreadyRemoved runs the watchdog's
// script as its parent's death sets it off, for a cgroup that another
// tether's sweep of stale cgroups removed first: it must not keep trying
// to remove it. A stand-in rmdir on PATH counts the tries.
func TestWatchdogDoesNotWaitForACgroupAlreadyRemoved(t *testing.T) {
	dir := t.TempDir()
	tries := filepath.Join(dir, "tries")
	fake := "#!/bin/sh\necho \"$@\" >> " + tries + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "rmdir"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	// The group to stop: one sleeping process of its own.
	group := exec.Command("/bin/sh", "-c", "exec sleep 60")
	group.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := group.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { group.Process.Kill(); group.Wait() })
	gone := filepath.Join(dir, "cgroup-swept")
	w := exec.Command("/bin/sh", "-c", watchdogScript, strconv.Itoa(group.Process.Pid), "1", gone)
	w.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	w.Stdin = strings.NewReader("") // the parent is gone
	if out, err := w.CombinedOutput(); err != nil {
		// Its last SIGKILL goes to the group, which it is not in here.
		t.Fatalf("watchdog: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(tries); len(data) > 0 {
		t.Fatalf("the watchdog tried %d times to remove a cgroup that is gone", strings.Count(string(data), "\n"))
	}
	if err := group.Wait(); err == nil {
		t.Fatal("the group's process was not killed")
	}
}

// TestEarlyWatchdogWithoutAGroupSignalsNoGroup runs the script as a
// watchdog started before its server whose parent died before telling it
// the server's group: it has no group to signal, and must not take any
// number for one.
func TestEarlyWatchdogWithoutAGroupSignalsNoGroup(t *testing.T) {
	bystander := exec.Command("/bin/sh", "-c", "exec sleep 60")
	bystander.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bystander.Process.Kill(); bystander.Wait() })
	w := exec.Command("/bin/sh", "-c", watchdogScript, "-", "1", "")
	w.Env = []string{"PATH=/usr/bin:/bin"}
	w.Stdin = strings.NewReader("") // the parent died at once
	if out, err := w.CombinedOutput(); err != nil {
		t.Fatalf("watchdog: %v\n%s", err, out)
	}
	if err := syscall.Kill(bystander.Process.Pid, 0); err != nil {
		t.Fatalf("a process of another group was signalled: %v", err)
	}
	// Told the group, it stops it.
	w = exec.Command("/bin/sh", "-c", watchdogScript, "-", "1", "")
	w.Env = []string{"PATH=/usr/bin:/bin"}
	w.Stdin = strings.NewReader(strconv.Itoa(bystander.Process.Pid) + "\n")
	if out, err := w.CombinedOutput(); err != nil {
		t.Fatalf("watchdog: %v\n%s", err, out)
	}
	if err := bystander.Wait(); err == nil {
		t.Fatal("the group the watchdog was told of was not stopped")
	}
}
