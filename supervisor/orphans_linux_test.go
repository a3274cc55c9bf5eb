//go:build linux

package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testbin"
)

// gone reports whether pid has ended, waiting for its exit (through a
// pidfd: an event, not polling) up to d.
func gone(pid int, d time.Duration) bool {
	e, ok := readProc(pid)
	if !ok || e.zombie {
		return true
	}
	return waitGoneFor(e, d)
}

// containments are the two ways descendants outside the process group are
// found: a cgroup where this machine allows one, the process tree
// otherwise.
var containments = []struct {
	name     string
	noCgroup bool
}{
	{"cgroup", false},
	{"process tree", true},
}

func TestEscapedGrandchildIsStopped(t *testing.T) {
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			t.Run("by Stop, which does not wait on the pipes it holds", func(t *testing.T) {
				f := faultServer(t, "--fault-grandchild=escape")
				f.cfg.NoCgroup = c.noCgroup
				p, gc := launchWithGrandchild(t, f)
				t.Logf("contained by %s", p.contain.kind())
				start := time.Now()
				if err := p.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took > promptly {
					t.Fatalf("Stop took %v with an escaped grandchild holding the pipes", took)
				}
				// Stop returns once the descendants have ended: one look.
				if alive(gc) {
					t.Fatalf("escaped grandchild %d outlived Stop", gc)
				}
			})
			t.Run("when the server crashes", func(t *testing.T) {
				f := faultServer(t, "--fault-grandchild=escape", "--fault-crash-after=500ms", "--fault-crash=boom")
				f.cfg.NoCgroup = c.noCgroup
				p := f.launch(t)
				gc := f.info(t).GrandchildPID
				killOnCleanup(t, gc)
				<-p.Done()
				if alive(gc) {
					t.Fatalf("escaped grandchild %d outlived the crashed server", gc)
				}
			})
		})
	}
}

// The cgroup is removed once the server is gone.
func TestCgroupIsRemoved(t *testing.T) {
	requireCgroups(t, "nothing to remove")
	f := faultServer(t, "--fault-grandchild=escape")
	p := f.launch(t)
	if p.contain.cg == nil {
		t.Fatal("the server has no cgroup although this process can create one")
	}
	dir := p.contain.cg.dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	p.Stop(context.Background())
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s left behind: %v", dir, err)
	}
}

// A parent killed with SIGKILL leaves no descendant behind, including one
// that left the process group: the watchdog kills the server's cgroup.
func TestParentKilledLeavesNoEscapedGrandchild(t *testing.T) {
	requireCgroups(t, "the process-tree fallback does not cover this case")
	parent, child, grandchild, _ := startParent(t, "escape")
	if !alive(child) || !alive(grandchild) {
		t.Fatalf("server %d or grandchild %d died before the parent", child, grandchild)
	}
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	if !gone(child, goneDeadline) {
		t.Fatalf("server %d outlived its parent", child)
	}
	// The watchdog's grace (a second, rounded up from the test's) comes
	// first.
	if !gone(grandchild, goneDeadline) {
		t.Fatalf("escaped grandchild %d outlived the parent", grandchild)
	}
}

// runAdoptingParent is the test binary as a program that adopts orphans and
// has no cgroup: its server starts an escaping grandchild after it is ready
// (so no listing of the server's descendants has seen it) and then
// crashes, orphaning the grandchild to us. It prints the grandchild's pid,
// then "ended" once the server has ended.
func runAdoptingParent() int {
	if err := AdoptOrphans(); err != nil {
		fmt.Fprintln(os.Stderr, "parent:", err)
		return 1
	}
	f := faultServer(&parentTB{}, "--fault-grandchild=escape", "--fault-grandchild-after=200ms", "--fault-crash-after=1s", "--fault-crash=boom")
	f.cfg.NoCgroup = true
	f.cfg.Program = os.Getenv("TETHER_SUPERVISOR_TEST_BIN")
	p, err := Launch(context.Background(), f.cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parent:", err)
		return 1
	}
	gc := 0
	for range 100 { // the grandchild starts 200 ms in
		if gc = f.info(&parentTB{}).GrandchildPID; gc != 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "%d\n", gc)
	w.Flush()
	<-p.Done()
	fmt.Fprintf(w, "ended\n")
	w.Flush()
	time.Sleep(time.Minute)
	return 0
}

func TestAdoptedOrphansAreKilled(t *testing.T) {
	bin := testbin.Build(t, testbin.FaultServer)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), parentModeEnv+"=adopt", "TETHER_SUPERVISOR_TEST_BIN="+bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(out)
	var gc int
	if line, err := r.ReadString('\n'); err != nil {
		t.Fatalf("parent said nothing: %v", err)
	} else if _, err := fmt.Sscan(line, &gc); err != nil || gc == 0 {
		t.Fatalf("parent said %q", line)
	}
	killOnCleanup(t, gc)
	if !alive(gc) {
		t.Fatalf("grandchild %d not running", gc)
	}
	if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ended" {
		t.Fatalf("parent said %q, %v", line, err)
	}
	// The parent killed and reaped it before saying "ended".
	if alive(gc) {
		t.Fatalf("orphaned grandchild %d outlived its server", gc)
	}
}

// The empty cgroup of a tether process that died without its watchdog is
// removed by the next process that creates one; a populated one, or one of
// a live process, is kept.
func TestStaleCgroupsAreSwept(t *testing.T) {
	requireCgroups(t, "nothing to sweep")
	base, _ := cgroupBase()
	dead := exec.Command("/bin/true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(base, fmt.Sprintf("tether-%d-1-llama-server", dead.Process.Pid))
	live := filepath.Join(base, fmt.Sprintf("tether-%d-1-llama-server", os.Getppid()))
	for _, d := range []string{stale, live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(d) })
	}
	sweepStaleCgroups(base)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale cgroup kept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a live process's cgroup removed: %v", err)
	}
}

// sweepCgroups removes the empty cgroups of helper parents that were killed.
func sweepCgroups() {
	if base, err := cgroupBase(); err == nil {
		sweepStaleCgroups(base)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/sys/fs/cgroup`:           "/sys/fs/cgroup",
		`/mnt/with\040space`:       "/mnt/with space",
		`/tab\011and\134backslash`: "/tab\tand\\backslash",
		`/short\04`:                `/short\04`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

// requireCgroups skips a test where this process cannot give servers
// cgroups of their own (no cgroup v2, no write access, an old kernel).
func requireCgroups(t *testing.T, why string) {
	t.Helper()
	if err := CgroupsAvailable(); err != nil {
		t.Skipf("no cgroup for servers here (%v): %s", err, why)
	}
}

// waitListed waits (in a helper parent) until the server's containment has
// listed pid among its descendants: at once for one born before the server
// was ready, within relistEvery for a later one.
func waitListed(p *Process, pid int) {
	for range 1000 {
		p.contain.mu.Lock()
		listed := false
		for e := range p.contain.seen {
			listed = listed || e.pid == pid
		}
		p.contain.mu.Unlock()
		if listed {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "parent: grandchild %d never listed\n", pid)
	os.Exit(1)
}

// Without a cgroup, the descendants the process tree has shown are given to
// the watchdog, which kills them when the parent is killed with SIGKILL:
// one born before the server was ready, and one born after (found by the
// periodic relisting).
func TestParentKilledWithoutCgroupLeavesNoListedGrandchild(t *testing.T) {
	for _, mode := range []string{"escape-tree", "late-escape-tree"} {
		t.Run(mode, func(t *testing.T) {
			parent, child, grandchild, _ := startParent(t, mode)
			if !alive(child) || !alive(grandchild) {
				t.Fatalf("server %d or grandchild %d died before the parent", child, grandchild)
			}
			parent.Process.Signal(syscall.SIGKILL)
			parent.Wait()
			if !gone(grandchild, goneDeadline) {
				t.Fatalf("escaped grandchild %d outlived the parent", grandchild)
			}
		})
	}
}

// TestEscapedGrandchildIsListedWhileTheServerLoads checks, without a
// cgroup, that a descendant that leaves the group as the server starts is
// known (and so told to the watchdog) while the server still loads, not
// only once it is ready: a parent killed during the load must find it.
func TestEscapedGrandchildIsListedWhileTheServerLoads(t *testing.T) {
	f := faultServer(t, "--fault-grandchild=escape", "--fault-load=1500ms")
	f.cfg.NoCgroup = true
	p, err := Start(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	ready := make(chan error, 1)
	go func() { ready <- p.WaitReady(context.Background()) }()
	gc := 0
	for gc == 0 {
		select {
		case err := <-ready:
			t.Fatalf("ready (%v) before the grandchild was seen", err)
		case <-time.After(10 * time.Millisecond):
		}
		if code, body, err := f.get(context.Background(), "/fault/info"); err == nil && code == 200 {
			var fi faultInfo
			if json.Unmarshal(body, &fi) == nil {
				gc = fi.GrandchildPID
			}
		}
	}
	killOnCleanup(t, gc)
	for !listed(p, gc) {
		select {
		case err := <-ready:
			if listed(p, gc) {
				t.Fatalf("escaped grandchild %d listed only once the server was ready (%v)", gc, err)
			}
			t.Fatalf("escaped grandchild %d not listed when the server became ready (%v)", gc, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// listed reports whether the containment has listed pid.
func listed(p *Process, pid int) bool {
	p.contain.mu.Lock()
	defer p.contain.mu.Unlock()
	for e := range p.contain.seen {
		if e.pid == pid {
			return true
		}
	}
	return false
}

// TestWatchdogHoldsTheCgroupBeforeTheServerStarts checks that, with a
// cgroup, the watchdog runs before the server is started: a parent killed
// as the server starts leaves a watchdog that kills the cgroup, and with it
// whatever the server started after the parent's death.
func TestWatchdogHoldsTheCgroupBeforeTheServerStarts(t *testing.T) {
	requireCgroups(t, "the early watchdog is for the cgroup")
	f := faultServer(t)
	p := f.launch(t)
	if p.earlyWatchdog == nil {
		t.Fatal("no watchdog started before the server")
	}
	w, ok := readProc(p.earlyWatchdog.Pid)
	if !ok {
		t.Fatal("the watchdog is not running")
	}
	s, ok := readProc(p.PID())
	if !ok {
		t.Fatal("the server is not running")
	}
	if w.start > s.start {
		t.Fatalf("the watchdog started after the server (%d > %d ticks)", w.start, s.start)
	}
}

// TestOwnChildIsNotSweptAsAnOrphan: the sweep that kills the orphans a
// server leaves to an adopting process spares the children the program
// said it started itself, and kills the others.
func TestOwnChildIsNotSweptAsAnOrphan(t *testing.T) {
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	ours := start()
	release := OwnChild(ours.Process.Pid)
	defer release()
	other := start()
	var since uint64
	for _, e := range allProcs() {
		if e.pid == ours.Process.Pid {
			since = e.start
		}
	}
	if since == 0 {
		t.Fatal("the child is not listed")
	}
	killAdopted(since)
	if err := syscall.Kill(ours.Process.Pid, 0); err != nil {
		t.Errorf("the program's own child was killed: %v", err)
	}
	if !gone(other.Process.Pid, goneDeadline) {
		t.Errorf("the other child %d survived the sweep", other.Process.Pid)
	}
}
