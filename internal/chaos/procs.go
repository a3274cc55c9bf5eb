package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// trialEnv carries a trial's id in the environment of tether and of
// everything tether starts that keeps its environment, so that the
// trial's processes can be found in /proc after their parent is gone.
const trialEnv = "TETHER_CHAOS_TRIAL"

// proc is one process as /proc shows it.
type proc struct {
	PID, PPID, PGID, SID int
	State                byte
	Exe                  string
	Cmdline              string
}

// dead reports whether the process has ended and only waits to be reaped.
func (p proc) dead() bool { return p.State == 'Z' || p.State == 'X' }

func (p proc) String() string {
	cmd := p.Cmdline
	if len(cmd) > 60 {
		cmd = cmd[:60] + "…"
	}
	return fmt.Sprintf("pid %d (ppid %d, pgid %d, sid %d, state %c) %s", p.PID, p.PPID, p.PGID, p.SID, p.State, cmd)
}

// readProc reads one process, or reports that it is gone.
func readProc(pid int) (proc, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// The command name is in parentheses and may hold anything: the
	// fields after it start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return proc{}, false
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 4 {
		return proc{}, false
	}
	p := proc{PID: pid, State: f[0][0]}
	p.PPID, _ = strconv.Atoi(f[1])
	p.PGID, _ = strconv.Atoi(f[2])
	p.SID, _ = strconv.Atoi(f[3])
	p.Exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	p.Cmdline = strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	return p, true
}

// allPIDs lists the processes of the machine (those /proc shows us).
func allPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// marked is one trial's way of recognising its processes: the trial's
// id in the environment, a program or argument under the trial's
// directory (a server's children may start with an empty environment,
// but their program is the one the trial put there), or the session the
// trial's first process leads (the supervisor's watchdog, a shell with a
// minimal environment, stays in it; a process that leaves it with
// setsid still runs the trial's program).
type marked struct {
	ID  string
	Dir string
	// Session is the session the trial's first process leads, once it
	// runs (0 before).
	Session int
}

func newMarked(id, dir string) *marked { return &marked{ID: id, Dir: dir} }

// env is the environment variable to give the trial's first process.
func (m *marked) env() string { return trialEnv + "=" + m.ID }

// holds reports whether p is one of the trial's processes.
func (m *marked) holds(p proc) bool {
	if m.Session > 0 && p.SID == m.Session {
		return true
	}
	if m.Dir != "" && (strings.HasPrefix(p.Exe, m.Dir+"/") || strings.Contains(p.Cmdline, m.Dir+"/")) {
		return true
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
	if err != nil {
		return false
	}
	want := []byte(m.env())
	for v := range bytes.SplitSeq(env, []byte{0}) {
		if bytes.Equal(v, want) {
			return true
		}
	}
	return false
}

// scan lists the trial's live processes.
func (m *marked) scan() []proc {
	var live []proc
	for _, pid := range allPIDs() {
		if pid == os.Getpid() {
			continue
		}
		if p, ok := readProc(pid); ok && !p.dead() && m.holds(p) {
			live = append(live, p)
		}
	}
	return live
}

// awaitNone waits up to bound for the trial to have no live process, and
// returns how long that took, or the survivors.
func (m *marked) awaitNone(ctx context.Context, bound time.Duration) (time.Duration, []proc) {
	start := time.Now()
	for {
		live := m.scan()
		if len(live) == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > bound || ctx.Err() != nil {
			return time.Since(start), live
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killAll ends survivors, so that one failed trial does not load the
// next ones.
func killAll(ps []proc) {
	for _, p := range ps {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// describe lists processes for a failure message: what each waits in
// (wchan) and, when it reads a pipe, which processes hold that pipe.
func describe(ps []proc) string {
	var parts []string
	for _, p := range ps {
		text := p.String()
		if w, err := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", p.PID)); err == nil && len(w) > 0 {
			text += fmt.Sprintf(" [waits in %s]", w)
		}
		if in, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", p.PID)); err == nil && strings.HasPrefix(in, "pipe:") {
			text += fmt.Sprintf(" [stdin %s held by %v]", in, pipeHolders(in))
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "; ")
}

// pipeHolders lists the processes with pipe (as /proc shows a pipe's fd
// link) open.
func pipeHolders(pipe string) []int {
	var pids []int
	for _, pid := range allPIDs() {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == pipe {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// installServer puts the fault server into dir under each of names, as
// hard links (a copy where linking fails): the kernel shows a hard link's
// own path as the program, so the server and every process it starts
// from its own program carry the trial's directory.
func installServer(program, dir string, names ...string) error {
	for _, name := range names {
		dst := filepath.Join(dir, name)
		if err := os.Link(program, dst); err == nil {
			continue
		}
		data, err := os.ReadFile(program)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// memStatus reads the memory figures of /proc/PID/status, in bytes:
// VmRSS, VmHWM (the peak), and the thread count.
type memStatus struct {
	RSS, HWM int64
	Threads  int
}

func readMemStatus(pid int) (memStatus, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, false
	}
	var s memStatus
	for line := range strings.SplitSeq(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			s.RSS = n << 10
		case "VmHWM":
			s.HWM = n << 10
		case "Threads":
			s.Threads = int(n)
		}
	}
	return s, true
}

// mib formats bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// child is one program a trial runs: tether run or tether serve, in a
// session of its own, its output kept and watched.
type child struct {
	cmd      *exec.Cmd
	m        *marked
	Out, Err *watched
	// Done is closed once the program has exited and been reaped.
	Done    chan struct{}
	Started time.Time
	Ended   time.Time
	waitErr error
}

// startChild starts program with args under the trial's marker. env adds
// to (and overrides) this process's environment, without the variables
// that steer tether or the fault server.
func startChild(m *marked, env []string, program string, args ...string) (*child, error) {
	cmd := exec.Command(program, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TETHER_") && !strings.HasPrefix(kv, "APR_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, m.env()), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c := &child{cmd: cmd, m: m, Out: newWatched(), Err: newWatched(), Done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.Out, c.Err
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.Started = time.Now()
	m.Session = cmd.Process.Pid
	go func() {
		c.waitErr = cmd.Wait()
		c.Ended = time.Now()
		close(c.Done)
	}()
	return c, nil
}

// name is the program as a person names it: "tether run", "tether code".
func (c *child) name() string {
	name := filepath.Base(c.cmd.Path)
	if len(c.cmd.Args) > 1 {
		name += " " + c.cmd.Args[1]
	}
	return name
}

// PID is the program's process id.
func (c *child) PID() int { return c.cmd.Process.Pid }

// Kill sends sig to the program alone.
func (c *child) Kill(sig syscall.Signal) { syscall.Kill(c.PID(), sig) }

// exited reports whether the program has ended.
func (c *child) exited() bool {
	select {
	case <-c.Done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the program to exit and returns its exit code
// (-1 for a signal), or an error if it is still running.
func (c *child) Wait(d time.Duration) (int, error) {
	select {
	case <-c.Done:
	case <-time.After(d):
		return 0, fmt.Errorf("still running after %s", d.Round(time.Millisecond))
	}
	if c.cmd.ProcessState == nil {
		return 0, c.waitErr
	}
	return c.cmd.ProcessState.ExitCode(), nil
}

// MaxRSS is the program's peak resident memory, from the kernel's
// accounting at its exit (0 before).
func (c *child) MaxRSS() int64 {
	if c.cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // KiB on Linux
	}
	return 0
}

// Stop ends the program and everything of its trial, whatever state the
// trial is in; for the end of a trial that failed early.
func (c *child) Stop() {
	c.Kill(syscall.SIGKILL)
	<-c.Done
	killAll(c.m.scan())
}

// WaitFor waits up to d for text to appear in w, and fails early if the
// program exits first.
func (c *child) WaitFor(w *watched, text string, d time.Duration) error {
	return c.waitUntil(w, func() bool { return strings.Contains(w.String(), text) }, fmt.Sprintf("%q", text), d)
}

// WaitOutput waits up to d for anything to appear in w.
func (c *child) WaitOutput(w *watched, d time.Duration) error {
	return c.waitUntil(w, func() bool { return w.Len() > 0 }, "anything", d)
}

func (c *child) waitUntil(w *watched, ok func() bool, text string, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		if ok() {
			return nil
		}
		select {
		case <-w.changed:
		case <-c.Done:
			if ok() {
				return nil
			}
			return fmt.Errorf("exited before printing %s; stderr: %s", text, tail(c.Err.String()))
		case <-timer.C:
			return fmt.Errorf("no %s within %s; stderr: %s", text, d, tail(c.Err.String()))
		}
	}
}

// watched is an output buffer that tells of each write.
type watched struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	total   int64
	changed chan struct{}
}

func newWatched() *watched { return &watched{changed: make(chan struct{}, 1)} }

// maxWatched bounds what a watched buffer keeps: a flood of output must
// not grow the chaos command itself.
const maxWatched = 1 << 20

func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.total += int64(len(p))
	if w.buf.Len() < maxWatched {
		w.buf.Write(p[:min(len(p), maxWatched-w.buf.Len())])
	}
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Len is how many bytes were written, kept or not.
func (w *watched) Len() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

func (w *watched) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// tail is the end of a program's output, for failure messages.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	return s
}

// sinceBoot is the time since boot (/proc/uptime, 10 ms grain), the clock
// of processes' start times.
func sinceBoot() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, false
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	return time.Duration(secs * float64(time.Second)), err == nil
}

// startedAt is when a process started, after boot: field 22 of
// /proc/PID/stat, in clock ticks.
func startedAt(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, false
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22; f[0] is field 3
	if err != nil {
		return 0, false
	}
	const clockTicks = 100 // USER_HZ, 100 on every Linux architecture Go runs on
	return time.Duration(ticks) * time.Second / clockTicks, true
}
