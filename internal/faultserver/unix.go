//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// startGrandchild starts a lingering copy of this program that holds our
// stdout and stderr, in our process group or, for "escape", out of it.
func (s *server) startGrandchild() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "--fault-linger", "--fault-max-life", s.opts.MaxLife.String())
	cmd.Env = []string{} // no TETHER_FAULT_* faults for the grandchild
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if s.opts.Grandchild == "escape" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.grandchildPID.Store(int64(cmd.Process.Pid))
	s.log.printf("faultserver: grandchild pid %d (%s)", cmd.Process.Pid, s.opts.Grandchild)
	go cmd.Wait()
	return nil
}

// linger is the grandchild: it ignores the polite signals and waits.
func linger(o *options) int {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	time.Sleep(o.MaxLife)
	fmt.Fprintln(os.Stderr, "faultserver: grandchild max life reached")
	return 0
}

// dieBySignal ends the process by sig, as a crashing server would.
func dieBySignal(sig syscall.Signal) {
	syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
}
