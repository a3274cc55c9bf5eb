//go:build linux

package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procEntry identifies a process for as long as it lives: a pid can be
// reused once its process is gone; a pid and a start time cannot.
type procEntry struct {
	pid, ppid int
	start     uint64 // clock ticks after boot (/proc/PID/stat field 22)
	// zombie: it has ended and waits to be reaped. Not part of the key:
	// the same process is alive and then a zombie.
	zombie bool
}

// key is what identifies the process.
func (e procEntry) key() procEntry { return procEntry{pid: e.pid, ppid: 0, start: e.start} }

// readProc reads a process's parent and start time; ok is false if it is
// gone.
func readProc(pid int) (e procEntry, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return e, false
	}
	// The command name, in parentheses, may hold anything; the fields
	// follow the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return e, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 || len(f[0]) == 0 {
		return e, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return e, false
	}
	return procEntry{pid: pid, ppid: ppid, start: start, zombie: f[0][0] == 'Z' || f[0][0] == 'X'}, true
}

// allProcs lists the processes, zombies included.
func allProcs() []procEntry {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make([]procEntry, 0, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if e, ok := readProc(pid); ok {
			out = append(out, e)
		}
	}
	return out
}

// descendants lists the live descendants of root, at any depth, whatever
// their process group or session.
func descendants(root int) []procEntry {
	children := map[int][]procEntry{}
	for _, e := range allProcs() {
		children[e.ppid] = append(children[e.ppid], e)
	}
	var out []procEntry
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// killIfSame sends sig to e if it is still the same process.
func killIfSame(e procEntry, sig syscall.Signal) {
	if now, ok := readProc(e.pid); ok && now.start == e.start && !now.zombie {
		_ = syscall.Kill(e.pid, sig)
	}
}

// waitGoneFor waits until the process e has ended (or is a zombie), up to
// d, woken by its exit through a pidfd where the kernel has them.
func waitGoneFor(e procEntry, d time.Duration) bool {
	fd, err := unix.PidfdOpen(e.pid, 0)
	if err == nil {
		defer unix.Close(fd)
		if now, ok := readProc(e.pid); !ok || now.start != e.start || now.zombie {
			return true // gone before the pidfd was opened
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		deadline := time.Now().Add(d)
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return false
			}
			n, err := unix.Poll(fds, int(left.Milliseconds())+1)
			if n > 0 {
				return true
			}
			if err != nil && err != unix.EINTR {
				break
			}
		}
	}
	deadline := time.Now().Add(d)
	for {
		if now, ok := readProc(e.pid); !ok || now.start != e.start || now.zombie {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
