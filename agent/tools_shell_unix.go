//go:build unix

package agent

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// inNewGroup makes cmd the leader of a process group of its own, whose id
// is its pid, so that killGroup reaches everything it starts (unless a
// process leaves the group on purpose, as daemons do with setsid).
func inNewGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills cmd's whole process group. A group that is already gone
// is reported as os.ErrProcessDone, which exec.Cmd's Cancel contract reads
// as "nothing to cancel".
func killGroup(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
