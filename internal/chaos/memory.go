package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStatusKiB reads a "Name:  N kB" field of /proc/PID/status (pid 0:
// this process) in bytes; 0 when the process or the field is gone.
func procStatusKiB(pid int, field string) int64 {
	path := "/proc/self/status"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// peakRSS is a running process's peak resident set (VmHWM).
func peakRSS(pid int) int64 { return procStatusKiB(pid, "VmHWM") }

// currentRSS is a running process's resident set (VmRSS).
func currentRSS(pid int) int64 { return procStatusKiB(pid, "VmRSS") }

// measured is how a short-lived program ended and what it used.
type measured struct {
	// Code is the exit status, or -1 when a signal ended it.
	Code int
	// Signal ended the program when Code is -1.
	Signal syscall.Signal
	// TimedOut says the program outlived its time and was killed.
	TimedOut       bool
	Stdout, Stderr string
	// Peak is the program's peak resident set in bytes.
	Peak    int64
	Elapsed time.Duration
}

// measure runs cmd to its end, killing it after timeout, and measures its
// peak memory. The peak comes from two sources: /proc/PID/status VmHWM,
// polled while the program runs (it misses a spike in the last
// milliseconds), and the rusage ru_maxrss the kernel reports at the end.
// ru_maxrss is exact for the program's own memory but, as os/exec starts
// the program with vfork, the kernel folds the parent's peak at exec
// time into it; so it is used only when it exceeds this process's own
// peak, when it cannot have come from the parent, or when no poll saw
// the program, as an upper bound.
func measure(ctx context.Context, timeout time.Duration, cmd *exec.Cmd) measured {
	return measureStarted(ctx, timeout, cmd, nil)
}

// measureStarted is measure that calls started, if set, with the
// program's pid once it runs.
func measureStarted(ctx context.Context, timeout time.Duration, cmd *exec.Cmd, started func(pid int)) measured {
	var out, errs bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &errs
	}
	if cmd.WaitDelay == 0 {
		// A descendant that keeps the output pipes open must not hold
		// the trial past its program's end.
		cmd.WaitDelay = 2 * time.Second
	}
	m := measured{Code: -1}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		m.Stderr = err.Error()
		return m
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	pid := cmd.Process.Pid
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			m.Peak = max(m.Peak, peakRSS(pid))
		case <-timer.C:
			m.TimedOut = true
			cmd.Process.Kill()
		case <-ctx.Done():
			cmd.Process.Kill()
		}
	}
	m.Elapsed = time.Since(start)
	m.Stdout, m.Stderr = out.String(), errs.String()
	st := cmd.ProcessState
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		m.Signal = ws.Signal()
	} else {
		m.Code = st.ExitCode()
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		// A program that ended before the first poll has only
		// ru_maxrss, an upper bound of its peak.
		if maxrss := ru.Maxrss << 10; maxrss > peakRSS(0) || m.Peak == 0 {
			m.Peak = max(m.Peak, maxrss)
		}
	}
	return m
}

// ended says how a measured program ended, for failure messages.
func (m measured) ended() string {
	switch {
	case m.TimedOut:
		return fmt.Sprintf("still running after %s (killed)", m.Elapsed.Round(time.Millisecond))
	case m.Code == -1:
		return fmt.Sprintf("killed by %v", m.Signal)
	}
	return fmt.Sprintf("exit %d", m.Code)
}

// crashWords are what a Go runtime crash prints; a clear error never has
// them.
var crashWords = []string{"panic:", "fatal error:", "goroutine ", "runtime error", "SIGSEGV"}

// crashed reports whether output holds a Go crash trace.
func crashed(output string) bool {
	for _, w := range crashWords {
		if strings.Contains(output, w) {
			return true
		}
	}
	return false
}

// clearError checks that a program refused its input the way a user
// should see it: an expected exit status, no crash trace, one line on
// stderr (the last one, when logs come before it) naming the problem.
func clearError(m measured, codes []int, want string) error {
	all := m.Stdout + m.Stderr
	switch {
	case m.TimedOut || m.Code == -1:
		return errors.New(m.ended())
	case crashed(all):
		return fmt.Errorf("%s with a crash trace: %s", m.ended(), firstLines(all, 3))
	}
	ok := false
	for _, c := range codes {
		ok = ok || c == m.Code
	}
	if !ok {
		return fmt.Errorf("%s, want one of %v: %s", m.ended(), codes, firstLines(m.Stderr, 2))
	}
	if m.Code != 0 {
		last := lastLine(m.Stderr)
		if last == "" || (want != "" && !strings.Contains(last, want)) {
			return fmt.Errorf("%s with the message %q, want one line about %q", m.ended(), last, want)
		}
	}
	return nil
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// firstLines is the first n lines of s, on one line.
func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " / ")
}

// sizeMiB formats bytes as MiB.
func sizeMiB(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// figures tracks the worst time and memory over a row's trials.
type figures struct {
	Elapsed time.Duration
	Peak    int64
}

func (f *figures) add(m measured) {
	f.Elapsed = max(f.Elapsed, m.Elapsed)
	f.Peak = max(f.Peak, m.Peak)
}

// within checks a trial's time and memory against the row's bounds.
func within(m measured, maxTime time.Duration, maxPeak int64) error {
	switch {
	case m.Elapsed > maxTime:
		return fmt.Errorf("took %s, bound %s", m.Elapsed.Round(time.Millisecond), maxTime)
	case m.Peak > maxPeak:
		return fmt.Errorf("peak RSS %s, bound %s", sizeMiB(m.Peak), sizeMiB(maxPeak))
	}
	return nil
}

// memTotalBytes is the machine's memory.
func memTotalBytes() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}
