//go:build unix

package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// terminate asks the child to stop (SIGTERM), or forces it (SIGKILL), both
// the child itself — through os.Process, which will not signal a reaped and
// reused pid — and everything in its process group.
func terminate(proc *os.Process, pgid int, force bool) {
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	_ = proc.Signal(sig)
	killGroup(pgid, sig)
}

// killGroup signals a whole process group. The group id cannot be reused
// while any member lives, so signalling it after the leader has been reaped
// reaches exactly the leftovers.
func killGroup(pgid int, sig syscall.Signal) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, sig)
	}
}

// killLeftovers kills whatever is left in the child's process group.
func killLeftovers(pgid int) { killGroup(pgid, syscall.SIGKILL) }

// exitStatus decodes how a process ended.
func exitStatus(ps *os.ProcessState) (code int, signal string) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return ps.ExitCode(), ""
}

// watchdogScript reads its stdin — the read end of a pipe whose write end
// only the parent holds — until end-of-file, which means the parent closed it
// or died. Each line it reads names a descendant of the server that may have
// left the process group, as "PID STARTTIME" (the start time in clock ticks,
// field 22 of /proc/PID/stat, so that a reused pid is never hit). A
// watchdog started before its server (with a cgroup) is given "-" as $0
// and reads the server's process group as its first line; one that reaches
// the end first has no group to stop, only the cgroup. At EOF it
// sends SIGTERM to the process group given as $0, to every process in the
// cgroup given as $2 (if any) and to the named descendants, waits $1
// seconds, kills the cgroup (cgroup.kill) and removes it (unless another
// tether's sweep of stale cgroups was first), sends SIGKILL to
// the named descendants, and last to the group. It ignores SIGTERM, so
// that a group-wide SIGTERM does not end it early when it runs inside the
// group (given as $0), where the final SIGKILL ends it too; started before
// its server it has a group of its own and ends with the script. It is not
// in the cgroup, which it must outlive. Only what every POSIX shell has is used (dash's kill has no
// "--").
const watchdogScript = `trap '' TERM INT HUP
g=$0
if [ "$g" = - ]; then read g || g=; fi
named=
while read pid start; do named="$named $pid:$start"; done
same() { l=$(cat /proc/$1/stat 2>/dev/null) || return 1; l=${l##*) }; set -- $2 $l; [ "$1" = "${21}" ]; }
signal() { for e in $named; do same ${e%%:*} ${e#*:} && kill -$1 ${e%%:*} 2>/dev/null; done; }
[ -z "$g" ] || kill -TERM -$g 2>/dev/null
if [ -n "$2" ]; then for p in $(cat "$2/cgroup.procs" 2>/dev/null); do kill -TERM $p 2>/dev/null; done; fi
signal TERM
sleep $1
if [ -n "$2" ]; then echo 1 > "$2/cgroup.kill"; i=0; while [ $i -lt 50 ] && [ -d "$2" ] && ! rmdir "$2"; do sleep 0.1; i=$((i+1)); done; fi 2>/dev/null
signal KILL
shift 2
if [ $# -gt 0 ]; then rm -rf -- "$@" 2>/dev/null; fi
[ -z "$g" ] || kill -KILL -$g 2>/dev/null`

// startWatchdog starts the watchdog for the process group pgid (and the
// cgroup directory cgroup, if not "") and returns the write end of its
// pipe; closing it (or dying) sets the watchdog off.
//
// A pgid of 0 starts it before the server, in a group of its own, the
// group to stop to be written to the pipe as its first line.
func startWatchdog(pgid int, grace time.Duration, cgroup string, remove []string) (*os.File, *exec.Cmd, error) {
	const shell = "/bin/sh"
	if _, err := os.Stat(shell); err != nil {
		return nil, nil, errors.New("no " + shell + " for the watchdog")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	secs := int((grace + time.Second - 1) / time.Second)
	group := strconv.Itoa(pgid)
	if pgid == 0 {
		group = "-"
	}
	args := append([]string{"-c", watchdogScript, group, strconv.Itoa(max(secs, 1)), cgroup}, remove...)
	cmd := exec.Command(shell, args...)
	cmd.Stdin = r
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	// No parent-death signal: the watchdog must outlive us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	markSpawned(cmd.Process.Pid)
	return w, cmd, nil
}
