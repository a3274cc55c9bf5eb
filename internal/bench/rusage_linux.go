package bench

import (
	"os"
	"syscall"
)

// childMaxRSS is a finished child's ru_maxrss in bytes (Linux counts it in
// KiB). It is an upper bound of the child's own peak: exec records the
// peak of the address space it replaces, which for a child started with
// vfork, as Go starts them, is this process's.
func childMaxRSS(ps *os.ProcessState) uint64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 0 {
		return uint64(ru.Maxrss) * 1024
	}
	return 0
}
