// Package supervisor runs a local inference server as a child process and
// never loses track of it.
//
// [Launch] finds the program ([Find]), starts it in its own process group
// on a thread that lives as long as the child (so Linux's parent-death
// signal stays armed), drains its stdout and stderr into a bounded,
// line-aware ring buffer and an optional log file, and waits until the
// server is ready. Readiness is a state machine — spawned, listening,
// loading (with progress), ready, or failed — driven by a backend-supplied
// [Probe] such as [HTTPHealth]. The start-up budget is a stall timer: every
// state change, every progress report and every line of output that is news
// (unlike the lines before it, or with a higher percentage) extends it, so a
// big model that is loading is never killed, while a server that hangs is
// cut off even if it logs each readiness probe or prints a heartbeat. A
// ceiling ([ReadyCeiling], ten budgets) bounds start-up as a whole. Polling starts at a millisecond and backs off to 100 ms;
// a line of output announcing readiness ([Config.ReadyLines]) triggers a
// probe at once, so a server that logs when it becomes ready is seen within
// a millisecond or two.
//
// A child that dies is noticed at once (a goroutine sits in wait(2)) and
// reported as an [llm.ServerExitedError] carrying the exit status or signal,
// the end of its output and a cause classified from that output
// ([Classify]). A server whose probe says it is not ours ([ErrNotOurs]:
// the launcher's proof, such as a per-launch API key and alias nonce,
// failed) is reported as a [ForeignServerError].
//
// [Process.Stop] is a bounded ladder: SIGTERM to the process group, a grace
// period, SIGKILL to the group, and a bounded wait that does not depend on
// pipes a grandchild may still hold. When the child exits for any reason its
// whole process group is killed with it.
//
// Nothing is left behind if the parent dies without cleaning up: on Linux
// the child gets SIGTERM from the kernel (PR_SET_PDEATHSIG), and on every
// unix a small watchdog (/bin/sh, started before the child in a process
// group of its own, reading a pipe only the parent holds, told the child's
// group as soon as it exists) sees the parent's death as end-of-file and
// sends SIGTERM, then SIGKILL, to the whole group, grandchildren included;
// with a cgroup (below) it holds the cgroup from the start, so that even a
// parent killed as the child starts leaves nothing behind.
//
// Descendants that leave the process group (setsid) are found too, on
// Linux: where this process may create cgroups (and [Config].NoCgroup is
// not set), each server is born into a cgroup v2 of its own, which Stop,
// the exit and the watchdog kill as a whole (cgroup.kill); elsewhere the
// server's process tree is listed from
// /proc from its start (every 5 ms at first, backing off to every 2 s),
// when it becomes ready and when it is stopped — those listed are killed
// with it, and given to the watchdog for the case this process dies; one
// that leaves the group in the moment before this process is killed is
// not yet known — and with [AdoptOrphans] orphaned descendants are
// re-parented to this process and killed with their server.
//
// A Process is one run: restarting belongs to whoever decides launches
// (driver/managed starts a new Process, on a fresh port, when its server
// has died).
package supervisor
