//go:build unix && !linux

package supervisor

import "syscall"

// sysProcAttr puts the child in its own process group. There is no
// parent-death signal outside Linux; the watchdog covers the parent's death.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
