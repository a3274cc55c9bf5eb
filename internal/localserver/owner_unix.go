//go:build unix

package localserver

import (
	"errors"
	"os"
	"syscall"
)

// processGone reports whether no process has the id pid.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// ownedByUs reports whether the file at path belongs to this process's
// user.
func ownedByUs(path string) bool {
	info, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
