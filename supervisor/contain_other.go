//go:build !linux

package supervisor

import (
	"errors"
	"syscall"
	"time"
)

// containment is the process group alone outside Linux: there is no
// cgroup, no subreaper and no /proc to find descendants that left it.
type containment struct{}

func newContainment(string, bool) *containment  { return &containment{} }
func (*containment) apply(*syscall.SysProcAttr) {}
func (*containment) startFailed() bool          { return false }
func (*containment) started(int)                {}
func (*containment) kind() string               { return "process group" }
func (*containment) watchdogArg() string        { return "" }
func (*containment) note()                      {}
func (*containment) term()                      {}
func (*containment) killAll()                   {}
func (*containment) cleanup(time.Duration)      {}
func (*containment) watch()                     {}
func (*containment) setTell(func(string))       {}

// AdoptOrphans is Linux only.
func AdoptOrphans() error { return errors.ErrUnsupported }

func markSpawned(int) {}

// OwnChild has no orphan sweep to tell here.
func OwnChild(int) func() { return func() {} }

func unmarkSpawned(int) {}

// CgroupsAvailable is Linux only.
func CgroupsAvailable() error { return errors.ErrUnsupported }
