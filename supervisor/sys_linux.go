//go:build linux

package supervisor

import "syscall"

// sysProcAttr puts the child in its own process group, so that signals
// reach everything it starts, and asks the kernel to send it SIGTERM when
// the thread that started it dies — which, because that thread is locked to
// the goroutine waiting for the child, happens only when this process dies
// (golang/go#27505). SIGTERM rather than SIGKILL lets the server shut down
// cleanly; the watchdog follows up with SIGKILL for the whole group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
