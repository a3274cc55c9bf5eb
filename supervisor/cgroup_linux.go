//go:build linux

package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetherllm/tether/internal/localserver"
	"golang.org/x/sys/unix"
)

// cgroup is a cgroup v2 of a server's own. Every process the server starts
// is born into it and cannot leave it (only a process with write access to
// another cgroup's cgroup.procs can move, and moving out of ours needs the
// same access to our parent cgroup), so killing the cgroup kills every
// descendant however it tried to get away: setsid, a double fork, a new
// process group.
type cgroup struct {
	dir string
	fd  *os.File // the directory, for clone3's CLONE_INTO_CGROUP
}

var cgroupSeq atomic.Int64

// cgroupBase is this process's own cgroup v2 directory, where the servers'
// cgroups are created, or an error saying why there is none.
var cgroupBase = sync.OnceValues(func() (string, error) {
	mount, root, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		path, ok := strings.CutPrefix(strings.TrimSpace(line), "0::")
		if !ok {
			continue
		}
		rel, ok := strings.CutPrefix(path, root)
		if !ok {
			return "", fmt.Errorf("cgroup %s is outside the cgroup2 mount's root %s", path, root)
		}
		return filepath.Join(mount, rel), nil
	}
	return "", errors.New("no cgroup v2 membership in /proc/self/cgroup")
})

// cgroup2Mount finds the cgroup2 file system in /proc/self/mountinfo: its
// mount point and the cgroup its root shows.
func cgroup2Mount() (mount, root string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional…] - fstype source superoptions
		before, after, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(after, "cgroup2 ") {
			continue
		}
		fields := strings.Fields(before)
		if len(fields) < 5 {
			continue
		}
		return unescapeMount(fields[4]), unescapeMount(fields[3]), nil
	}
	return "", "", errors.New("no cgroup2 file system mounted")
}

// unescapeMount undoes mountinfo's octal escapes ("\040" for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// newCgroup creates a cgroup for one server, or says why it cannot: no
// cgroup v2, no write access to our own cgroup (an unprivileged user in a
// session scope), or a kernel without cgroup.kill (before 5.14).
func newCgroup(name string) (*cgroup, error) {
	base, err := cgroupBase()
	if err != nil {
		return nil, err
	}
	sweepOnce.Do(func() { sweepStaleCgroups(base) })
	clean := strings.Map(func(r rune) rune {
		if r < 128 && (isWordByte(byte(r)) || r == '.' || r == '-') {
			return r
		}
		return '_'
	}, name)
	dir := filepath.Join(base, fmt.Sprintf("%s%d-%.40s", localserver.OwnedPrefix(), cgroupSeq.Add(1), clean))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("no cgroup.kill (kernel before 5.14): %w", err)
	}
	fd, err := os.Open(dir)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &cgroup{dir: dir, fd: fd}, nil
}

var sweepOnce sync.Once

// sweepStaleCgroups removes the empty cgroups of tether processes that are
// gone: a process killed with SIGKILL whose watchdog could not run (none was
// started) leaves its servers' cgroups behind once they have exited. A
// cgroup that still holds processes is left alone.
func sweepStaleCgroups(base string) {
	for _, name := range localserver.OrphanedEntries(base) {
		os.Remove(filepath.Join(base, name)) // fails if populated
	}
}

// procs lists the processes in the cgroup.
func (c *cgroup) procs() []int {
	data, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range bytes.Fields(data) {
		if pid, err := strconv.Atoi(string(f)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// signal sends sig to every process in the cgroup.
func (c *cgroup) signal(sig syscall.Signal) {
	for _, pid := range c.procs() {
		_ = syscall.Kill(pid, sig)
	}
}

// kill SIGKILLs everything in the cgroup at once, in the kernel, with no
// race against processes that fork meanwhile.
func (c *cgroup) kill() {
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		c.signal(syscall.SIGKILL)
	}
}

// waitEmpty waits up to d until no process is left in the cgroup, woken by
// the kernel's notification on cgroup.events.
func (c *cgroup) waitEmpty(d time.Duration) bool {
	f, err := os.Open(filepath.Join(c.dir, "cgroup.events"))
	if err != nil {
		return false
	}
	defer f.Close()
	deadline := time.Now().Add(d)
	buf := make([]byte, 256)
	for {
		n, err := f.ReadAt(buf, 0)
		if n == 0 && err != nil {
			return false
		}
		if bytes.Contains(buf[:n], []byte("populated 0")) {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, int(left.Milliseconds())+1); err != nil && err != unix.EINTR {
			return false
		}
	}
}

// closeFD releases the directory once the child has been born in it.
func (c *cgroup) closeFD() { c.fd.Close() }

// remove deletes the cgroup once it is empty; it reports whether it could.
func (c *cgroup) remove(d time.Duration) bool {
	c.fd.Close()
	if !c.waitEmpty(d) {
		return false
	}
	return os.Remove(c.dir) == nil
}
