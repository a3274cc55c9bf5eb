//go:build !unix

package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Outside unix there are no process groups or graceful signals to send;
// the child is killed outright.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func terminate(proc *os.Process, _ int, _ bool) { _ = proc.Kill() }

func killLeftovers(int) {}

func exitStatus(ps *os.ProcessState) (int, string) { return ps.ExitCode(), "" }

func startWatchdog(int, time.Duration, string, []string) (*os.File, *exec.Cmd, error) {
	return nil, nil, errors.New("no watchdog on this system")
}
