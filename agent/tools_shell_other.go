//go:build !unix

package agent

import "os/exec"

// Without Unix process groups a command's own process is all that can be
// killed; what it starts may outlive it.

func inNewGroup(*exec.Cmd) {}

func killGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }

func waitThenKillGroup(cmd *exec.Cmd, _ func()) error { return cmd.Wait() }

// startShellWatchdog has no process group to watch here.
func startShellWatchdog(int) (func(), error) { return func() {}, nil }
