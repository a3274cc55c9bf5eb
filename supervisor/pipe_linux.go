//go:build linux

package supervisor

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is what the pipes from the child are grown to: Linux's default
// for unprivileged users' maximum (fs.pipe-max-size). A pipe of 64 KiB —
// the default — fills in microseconds when a server logs a burst, and the
// server then waits for the drain goroutine to be scheduled; a megabyte
// absorbs bursts on a busy machine.
const pipeSize = 1 << 20

// growPipe enlarges a pipe's buffer, if the system allows; it goes through
// SyscallConn so that the file stays non-blocking.
func growPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
	})
}
