//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// containment finds and stops the descendants of a server that left its
// process group (setsid, setpgid), which a signal to the group misses.
//
// Where this process may create cgroups (cgroup v2, write access to its
// own cgroup, Linux 5.14 or later), the server is born into a cgroup of its
// own, which every descendant inherits and none can leave: cgroup.kill ends
// them all, and the watchdog uses it too, so even a SIGKILL of this process
// leaves nothing behind. Elsewhere it falls back to the process tree: the
// server's descendants are listed (from /proc) from its start, often at
// first and every relistEvery later, when it becomes ready and when it is
// stopped; those still alive when
// it exits are killed, and the watchdog is told of each, to kill them if
// this process dies. With [AdoptOrphans], descendants orphaned by a dying
// parent are re-parented to this process and killed as well.
type containment struct {
	cg    *cgroup // nil: the fallback
	pid   int
	start uint64 // the server's start time, for adopted orphans

	mu   sync.Mutex
	seen map[procEntry]bool // descendants listed so far, by key()
	// tell, if set, passes newly listed descendants to the watchdog, which
	// kills them (if still the same processes) when this process dies.
	tell func(text string)
	done chan struct{} // closed when the server has exited
}

// The fallback lists a running server's descendants from its start, so
// that the watchdog knows them should this process die: every relistFirst
// at first — servers start their helpers as they start, and a SIGKILL of
// this process during the load must find them too — then less and less
// often, up to every relistEvery. A descendant that leaves the group in
// the interval before this process dies is not known to the watchdog;
// only a cgroup closes that window.
const (
	relistFirst = 5 * time.Millisecond
	relistEvery = 2 * time.Second
)

// newContainment holds one server's descendants: in a cgroup of its own
// when cgroup is true and this process can create one, else by its
// process group and listings of its process tree.
func newContainment(backend string, cgroup bool) *containment {
	c := &containment{seen: map[procEntry]bool{}, done: make(chan struct{})}
	if !cgroup {
		return c
	}
	if cg, err := newCgroup(backend); err == nil {
		c.cg = cg
	}
	return c
}

// apply asks for the child to be born in the cgroup.
func (c *containment) apply(attr *syscall.SysProcAttr) {
	if c.cg != nil {
		attr.UseCgroupFD = true
		attr.CgroupFD = int(c.cg.fd.Fd())
	}
}

// startFailed drops the cgroup after a failed start; it reports whether a
// start without it is worth trying (clone3 may be refused, by a seccomp
// filter or an old kernel).
func (c *containment) startFailed() (retry bool) {
	if c.cg == nil {
		return false
	}
	c.cg.remove(0)
	c.cg = nil
	return true
}

func (c *containment) started(pid int) {
	c.pid = pid
	if c.cg != nil {
		c.cg.closeFD()
	}
	spawned.Store(pid, true)
	if e, ok := readProc(pid); ok {
		c.start = e.start
	}
}

// kind says which mechanism is in use, for logs and errors.
func (c *containment) kind() string {
	switch {
	case c.cg != nil:
		return "cgroup " + c.cg.dir
	case adopting.Load():
		return "process tree and subreaper"
	}
	return "process tree"
}

// watchdogArg is what the watchdog kills on our death besides the group.
func (c *containment) watchdogArg() string {
	if c.cg != nil {
		return c.cg.dir
	}
	return ""
}

// note lists the server's descendants now, while they are still its.
func (c *containment) note() {
	if c.cg != nil || c.pid == 0 {
		return
	}
	// Once the server has been reaped its pid may be another process's,
	// whose children are none of ours.
	if e, ok := readProc(c.pid); !ok || e.start != c.start || e.zombie {
		return
	}
	found := descendants(c.pid)
	var news strings.Builder
	c.mu.Lock()
	for _, e := range found {
		if !c.seen[e.key()] {
			c.seen[e.key()] = true
			fmt.Fprintf(&news, "%d %d\n", e.pid, e.start)
		}
	}
	tell := c.tell
	c.mu.Unlock()
	if news.Len() > 0 && tell != nil {
		tell(news.String())
	}
}

// watch relists the server's descendants now and then while it runs (the
// fallback only), until it exits.
func (c *containment) watch() {
	if c.cg != nil {
		return
	}
	go func() {
		interval := relistFirst
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				c.note()
				interval = min(interval*3/2, relistEvery)
				t.Reset(interval)
			}
		}
	}()
}

// setTell sets where newly listed descendants are reported.
func (c *containment) setTell(f func(string)) {
	c.mu.Lock()
	c.tell = f
	c.mu.Unlock()
}

// term asks every descendant to stop, those outside the group included.
func (c *containment) term() {
	if c.cg != nil {
		c.cg.signal(syscall.SIGTERM)
		return
	}
	c.note()
	c.each(func(e procEntry) { killIfSame(e, syscall.SIGTERM) })
}

// killAll kills every descendant that can be found.
func (c *containment) killAll() {
	if c.cg != nil {
		c.cg.kill()
		return
	}
	c.note()
	c.each(func(e procEntry) { killIfSame(e, syscall.SIGKILL) })
	if adopting.Load() {
		killAdopted(c.start)
	}
}

func (c *containment) each(f func(procEntry)) {
	c.mu.Lock()
	list := make([]procEntry, 0, len(c.seen))
	for e := range c.seen {
		list = append(list, e)
	}
	c.mu.Unlock()
	for _, e := range list {
		f(e)
	}
}

// cleanup runs once the server has been reaped and everything killed: it
// waits (up to d) for the cgroup to empty and removes it.
func (c *containment) cleanup(d time.Duration) {
	spawned.Delete(c.pid)
	close(c.done)
	if c.cg != nil {
		c.cg.remove(d)
		return
	}
	deadline := time.Now().Add(d)
	c.each(func(e procEntry) { waitGoneFor(e, time.Until(deadline)) })
}

// spawned holds the pids this package started (servers and watchdogs):
// this process's children that are not adopted orphans.
var spawned sync.Map

var adopting atomic.Bool

// AdoptOrphans makes this process a child subreaper (Linux's
// PR_SET_CHILD_SUBREAPER): a descendant whose parent dies is re-parented to
// this process rather than to init. Servers' descendants that left the
// process group and were orphaned are then found, killed and reaped when
// their server ends, also where no cgroup can be used.
//
// It changes the whole process, so it is for programs whose children are
// all started by this package, such as tether's command line: an orphan
// adopted from another child would be killed (if it started after a
// server that ends) or left a zombie. Call it once, early in main.
func AdoptOrphans() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_CHILD_SUBREAPER)", err)
	}
	adopting.Store(true)
	return nil
}

// killAdopted kills and reaps the orphans this process adopted that
// started no earlier than since (clock ticks after boot), in rounds: an
// orphan's own children are adopted when it dies.
func killAdopted(since uint64) {
	self := os.Getpid()
	for range 16 {
		found := 0
		for _, e := range allProcs() {
			if e.ppid != self || e.start < since {
				continue
			}
			if _, ours := spawned.Load(e.pid); ours {
				continue
			}
			found++
			if !e.zombie {
				_ = syscall.Kill(e.pid, syscall.SIGKILL)
			}
			var ws unix.WaitStatus
			_, _ = unix.Wait4(e.pid, &ws, 0, nil) // ours to reap; it is dying
		}
		if found == 0 {
			return
		}
	}
}

// markSpawned records a child this package started that is not a server.
func markSpawned(pid int) { spawned.Store(pid, true) }

// OwnChild tells the orphan sweep of a process that adopts orphans (see
// [AdoptOrphans]) that pid is a child this process started itself, not an
// adopted orphan, until release is called once the child is reaped. A
// program that adopts orphans and starts children of its own besides
// servers (tether code's shell commands) says so for each, or a server's
// end would kill them.
func OwnChild(pid int) (release func()) {
	markSpawned(pid)
	return func() { unmarkSpawned(pid) }
}

func unmarkSpawned(pid int) { spawned.Delete(pid) }

// CgroupsAvailable reports whether servers started from this process get a
// cgroup v2 of their own (unless [Config].NoCgroup), and so whether their descendants that leave the
// process group are stopped even when this process is killed with SIGKILL;
// the error says why not.
func CgroupsAvailable() error {
	cg, err := newCgroup("probe")
	if err != nil {
		return err
	}
	cg.remove(0)
	return nil
}
