package agent

import (
	"errors"
	"os/exec"

	"golang.org/x/sys/unix"
)

// waitThenKillGroup waits for cmd's shell to exit, kills what it left
// running in its group, stops the group's watchdog, and reaps the shell.
// The shell is waited for without being reaped first (WNOWAIT): while its
// zombie remains, its pid, which is the group's id, cannot be reused by
// another process, so the kill reaches the command's own leftovers and
// nothing else, and the watchdog is stopped before it could hit another
// group.
func waitThenKillGroup(cmd *exec.Cmd, stopWatchdog func()) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	_ = killGroup(cmd)
	stopWatchdog()
	return cmd.Wait()
}
