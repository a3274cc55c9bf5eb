//go:build unix

package agent

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/tetherllm/tether/supervisor"
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

// shellWatchdogScript reads its standard input, the read end of a pipe
// whose write end only this process holds, until end of file, and then
// kills the process group given as $0. End of file while a command runs
// means this process died without cleaning up (SIGKILL leaves it no
// chance), and the command's group dies with it instead of running on,
// orphaned. It ignores the signals a terminal sends, so that only the
// pipe sets it off.
const shellWatchdogScript = `trap '' TERM INT HUP; read x; kill -KILL -$0 2>/dev/null`

// startShellWatchdog starts the watchdog of the process group pgid, in a
// group of its own, and returns stop, which ends the watchdog without
// setting it off. stop must be called while pgid cannot yet be reused —
// before the group's leader is reaped — so that the watchdog never kills
// a group that is no longer the command's.
func startShellWatchdog(pgid int) (stop func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", shellWatchdogScript, strconv.Itoa(pgid))
	cmd.Stdin = r
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	// No parent-death signal: the watchdog must outlive this process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	release := supervisor.OwnChild(cmd.Process.Pid)
	return func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		release()
		w.Close()
	}, nil
}
