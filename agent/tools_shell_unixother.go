//go:build unix && !linux

package agent

import "os/exec"

// waitThenKillGroup waits for cmd's shell to exit and kills what it left
// running in its group. Without Linux's waitid(WNOWAIT) the shell is
// reaped first, so in the moment between, its pid could in principle be
// reused as another group's id; a leftover holding the output pipe is
// what this kill is for, and losing that race only leaves it running.
func waitThenKillGroup(cmd *exec.Cmd, stopWatchdog func()) error {
	err := cmd.Wait()
	_ = killGroup(cmd)
	stopWatchdog()
	return err
}
