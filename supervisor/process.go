package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherllm/tether/llm"
)

// Defaults for the zero values of [Config].
const (
	DefaultReadyBudget  = baselineReadySecs * time.Second
	DefaultStopGrace    = 2 * time.Second
	DefaultTailSize     = 64 << 10
	DefaultPollMin      = time.Millisecond
	DefaultPollMax      = 100 * time.Millisecond
	DefaultProbeTimeout = 2 * time.Second
)

const (
	// drainWait bounds how long an exit waits for the last output still
	// in the pipes. A grandchild outside the process group may hold them
	// open for ever; this is what keeps exit and Stop from hanging on it.
	drainWait = 50 * time.Millisecond
	// killWait bounds the wait for a process to disappear after SIGKILL.
	killWait = 5 * time.Second
	// cleanupWait bounds the wait for a server's descendants, killed when
	// it exits, to end.
	cleanupWait = 2 * time.Second
	// foreignWait is how long start-up waits, after a foreign server
	// answered, for our own server to fail to bind and say so.
	foreignWait = time.Second
	// errorTailLines and errorTailBytes size the output in errors; the
	// full ring is available from Process.Tail.
	errorTailLines = 20
	errorTailBytes = 4 << 10
)

// Config describes one server process. Program and Probe are required;
// every other zero value means the default given with the field.
type Config struct {
	// Backend names the server in errors and logs ("llama-server").
	// Default: the program's base name.
	Backend string
	// Program is the server binary: a name looked up on PATH, or a path.
	Program string
	// InstallHint tells the user how to install Program when it is
	// missing ("apt install llama.cpp").
	InstallHint string
	// Args are the arguments, not including the program name. They are
	// passed as they are; no shell is involved.
	Args []string
	// Env is added to this process's environment; for a key set in both,
	// Env wins.
	Env []string
	// Dir is the working directory. Default: this process's.
	Dir string

	// Probe tells readiness ([HTTPHealth.Probe] for most servers).
	Probe Probe
	// ReadyBudget is how long start-up may go without a sign of progress
	// before it fails with [llm.StartupTimeoutError]. Progress is a new
	// state, a higher loading progress from the probe, or output that is
	// news: a line unlike the lines before it (a line that differs from an
	// earlier one only in its numbers — a time, a counter, an address — is
	// alike, so the probes' own echoes in the server's request log and a
	// heartbeat are not progress) or with a higher percentage than the
	// last line of its kind ("loading 40%"). Default: 30 s; see
	// [ReadyBudget] for the seed's size-aware rule and its operator
	// override.
	ReadyBudget time.Duration
	// ReadyCap bounds start-up as a whole, however much progress it shows.
	// Default: [ReadyCeiling] of ReadyBudget (ten times it); negative
	// means no cap.
	ReadyCap time.Duration
	// PollMin and PollMax bound the interval between probes: polling
	// starts at PollMin and backs off by half each time to PollMax, and
	// goes back to PollMin when the state changes (spawned, listening,
	// loading). Defaults: 1 ms and 100 ms.
	PollMin, PollMax time.Duration
	// ReadyLines are phrases the server writes in the line that says it
	// is ready (llama-server: "server is listening on"; vLLM:
	// "Application startup complete"). Such a line makes start-up probe at
	// once instead of at the next poll, so readiness is seen within a
	// millisecond or two. Other output never triggers a probe: servers log
	// each request, and the probes' own echoes would turn into a storm.
	ReadyLines []string
	// ExitCauses are the exit statuses whose meaning the server
	// documents (tether serve: 3, a model file it refuses). A listed
	// status decides an unexpected exit's cause; the output's words
	// decide it otherwise.
	ExitCauses map[int]llm.ExitCause
	// ProbeTimeout bounds a single probe. Default: 2 s.
	ProbeTimeout time.Duration
	// OnState, if set, is called with every start-up state change, from
	// the goroutine waiting for readiness; it must return quickly and must
	// not call the Process's methods that wait (WaitReady, Stop).
	OnState func(Event)

	// StopGrace is how long Stop waits after SIGTERM before SIGKILL; it
	// is also the watchdog's grace when this process dies. Default: 2 s.
	StopGrace time.Duration

	// TailSize is how many bytes of recent output are kept in memory.
	// Default: 64 KiB.
	TailSize int
	// LogFile, if set, receives all of the server's output (appended;
	// created with mode 0600).
	LogFile string
	// LogWriter, if set, also receives all output, line by line. It is
	// written from the goroutines that drain the server's pipes, so it
	// must not block: a slow writer stalls the server.
	LogWriter io.Writer
	// Secrets are strings (API keys) replaced by "[redacted]" in the
	// output this package hands out: Tail and errors.
	Secrets []string

	// NoWatchdog disables the watchdog process that kills the server's
	// process group if this process dies without stopping it.
	NoWatchdog bool
	// NoCgroup keeps the server out of a cgroup of its own even where
	// this process could create one, for systems that manage cgroups
	// otherwise: its process group and listings of its process tree then
	// hold its descendants. Cgroups are Linux only.
	NoCgroup bool
	// Remove are files and directories of the launch that the watchdog removes, after killing the server,
	// if this process dies without stopping it. The caller removes them
	// in every other case.
	Remove []string
	// Logger receives the supervisor's own messages. Default:
	// slog.Default().
	Logger *slog.Logger

	// clock times the start-up budget and cap; tests replace it.
	clock clock
}

// withDefaults fills in every zero value once, so nothing later re-checks.
func (c Config) withDefaults() Config {
	if c.ReadyBudget <= 0 {
		c.ReadyBudget = DefaultReadyBudget
	}
	if c.ReadyCap == 0 {
		c.ReadyCap = ReadyCeiling(c.ReadyBudget)
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.PollMin <= 0 {
		c.PollMin = DefaultPollMin
	}
	if c.PollMax <= 0 {
		c.PollMax = DefaultPollMax
	}
	c.PollMax = max(c.PollMax, c.PollMin)
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.TailSize <= 0 {
		c.TailSize = DefaultTailSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Process is a running (or finished) server process. Its methods are safe
// for concurrent use.
type Process struct {
	cfg     Config
	path    string
	started time.Time
	proc    *os.Process
	pid     int
	out     *outputLog

	state atomic.Int32

	contain     *containment // finds descendants outside the process group
	closeOutput func()       // closes the pipes' read ends, once
	drained     chan struct{}
	logFile     *os.File // nil if none
	watchdog    *os.File // write end of the watchdog's pipe, or nil
	watchdogMu  sync.Mutex
	// earlyWatchdog is the watchdog, started before the server in a
	// process group of its own: the server's exit does not end it, so it
	// is killed then. Nil without a watchdog.
	earlyWatchdog *os.Process

	stopRequested atomic.Bool
	stopOnce      sync.Once
	hurry         chan struct{} // closed to skip the grace period
	hurryOnce     sync.Once
	stopped       chan struct{}
	stopErr       error

	done    chan struct{} // closed once the child has exited and been cleaned up
	exitErr error         // set before done is closed

	readyMu sync.Mutex
}

// Start starts a server and returns at once; see [Process.WaitReady] and
// [Launch]. The caller must eventually call [Process.Stop].
func Start(cfg Config) (*Process, error) {
	if cfg.Backend == "" {
		cfg.Backend = baseName(cfg.Program)
	}
	cfg = cfg.withDefaults()
	path, err := Find(cfg.Program, cfg.InstallHint)
	if err != nil {
		return nil, err
	}
	p := &Process{
		cfg:     cfg,
		path:    path,
		drained: make(chan struct{}),
		hurry:   make(chan struct{}),
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
	}
	var sinks []io.Writer
	if cfg.LogFile != "" {
		f, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%s log file: %w", cfg.Backend, err)
		}
		p.logFile = f
		sinks = append(sinks, f)
	}
	if cfg.LogWriter != nil {
		sinks = append(sinks, cfg.LogWriter)
	}
	var sink io.Writer
	if len(sinks) > 0 {
		sink = io.MultiWriter(sinks...)
	}
	p.out = newOutputLog(cfg.TailSize, sink, cfg.ReadyLines)
	if err := p.spawn(); err != nil {
		if p.logFile != nil {
			p.logFile.Close()
		}
		return nil, err
	}
	return p, nil
}

// spawn starts the child from a goroutine locked to its OS thread; that
// goroutine then waits for the child, so the thread — and with it the
// parent-death signal — lives exactly as long as the child.
func (p *Process) spawn() error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%s: %w", p.cfg.Backend, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("%s: %w", p.cfg.Backend, err)
	}
	growPipe(outR)
	growPipe(errR)
	p.closeOutput = sync.OnceFunc(func() {
		outR.Close()
		errR.Close()
	})

	p.contain = newContainment(p.cfg.Backend, !p.cfg.NoCgroup)
	command := func() *exec.Cmd {
		cmd := exec.Command(p.path, p.cfg.Args...)
		cmd.Env = append(os.Environ(), p.cfg.Env...)
		cmd.Dir = p.cfg.Dir
		cmd.Stdout, cmd.Stderr = outW, errW
		cmd.SysProcAttr = sysProcAttr()
		p.contain.apply(cmd.SysProcAttr)
		return cmd
	}

	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after
		// the child has been reaped.
		runtime.LockOSThread()
		// The watchdog starts first: if this process dies as the server
		// starts, the watchdog already holds the cgroup, which holds
		// everything the server starts even after our death, and learns
		// the server's group as soon as there is one.
		if !p.cfg.NoWatchdog {
			p.startEarlyWatchdog()
		}
		cmd := command()
		err := cmd.Start()
		if err != nil && p.contain.startFailed() {
			// The watchdog's cgroup is gone; it stops the group alone.
			p.cfg.Logger.Debug("cannot start the server in a cgroup; starting it without", "backend", p.cfg.Backend, "err", err)
			cmd = command()
			err = cmd.Start()
		}
		if err != nil {
			p.endEarlyWatchdog()
			started <- err
			return
		}
		p.started = time.Now()
		p.proc = cmd.Process
		p.pid = cmd.Process.Pid
		p.contain.started(p.pid)
		p.watchdogMu.Lock()
		if p.watchdog != nil {
			// The group to stop is the server's, known now.
			fmt.Fprintf(p.watchdog, "%d\n", p.pid)
		}
		p.watchdogMu.Unlock()
		p.contain.watch()
		started <- nil
		waitErr := cmd.Wait()
		p.exited(cmd.ProcessState, waitErr)
	}()
	err = <-started
	// The child has its own copies of the write ends (or never will).
	outW.Close()
	errW.Close()
	if err != nil {
		p.closeOutput()
		return fmt.Errorf("start %s: %w", p.cfg.Backend, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.out.drain(0, outR) })
	wg.Go(func() { p.out.drain(1, errR) })
	go func() {
		wg.Wait()
		close(p.drained)
	}()
	p.cfg.Logger.Debug("server started", "backend", p.cfg.Backend, "pid", p.pid, "program", p.path, "contained by", p.contain.kind())
	return nil
}

// startEarlyWatchdog starts the watchdog before the server, in a process
// group of its own; the server's group comes as the first line it reads,
// then the descendants the process tree shows (without a cgroup).
func (p *Process) startEarlyWatchdog() {
	w, cmd, err := startWatchdog(0, p.cfg.StopGrace, p.contain.watchdogArg(), p.cfg.Remove)
	if err != nil {
		p.cfg.Logger.Debug("no watchdog for server", "backend", p.cfg.Backend, "err", err)
		return
	}
	p.watchdog, p.earlyWatchdog = w, cmd.Process
	p.contain.setTell(func(text string) {
		p.watchdogMu.Lock()
		defer p.watchdogMu.Unlock()
		if p.watchdog != nil {
			p.watchdog.Write([]byte(text))
		}
	})
	go func() {
		cmd.Wait()
		unmarkSpawned(cmd.Process.Pid)
	}()
}

// endEarlyWatchdog kills the watchdog, which is not in the server's group
// and so does not end with it, and closes its pipe. Killed first, it does
// nothing on the pipe's end.
func (p *Process) endEarlyWatchdog() {
	p.watchdogMu.Lock()
	defer p.watchdogMu.Unlock()
	if p.earlyWatchdog == nil {
		return
	}
	// SIGKILL is final once sent: the watchdog cannot act on the end of
	// its pipe, closed below. Its goroutine reaps it.
	p.earlyWatchdog.Kill()
	p.earlyWatchdog = nil
	p.watchdog.Close()
	p.watchdog = nil
}

// exited runs once, on the spawning goroutine, when the child has been
// reaped. It kills anything left in the process group, collects the last
// output (without waiting long for pipes someone else may hold), and
// records why the child ended.
func (p *Process) exited(ps *os.ProcessState, waitErr error) {
	killLeftovers(p.pid)
	p.contain.killAll()
	select {
	case <-p.drained:
	case <-time.After(drainWait):
	}
	p.closeOutput()
	<-p.drained
	p.endEarlyWatchdog()
	p.watchdogMu.Lock()
	if p.watchdog != nil {
		p.watchdog.Close()
		p.watchdog = nil
	}
	p.watchdogMu.Unlock()
	if p.logFile != nil {
		p.logFile.Close()
	}
	// Killed processes take a moment to end; when Stop returns, they have.
	p.contain.cleanup(cleanupWait)

	wasReady := State(p.state.Load()) == StateReady
	if p.stopRequested.Load() {
		p.state.Store(int32(StateStopped))
	} else {
		p.state.Store(int32(StateFailed))
		p.exitErr = p.exitError(ps, waitErr, !wasReady)
		// Debug, not Warn: the error reaches the caller through ExitErr
		// and WaitReady, and the caller decides how loud to be.
		p.cfg.Logger.Debug("server exited", "backend", p.cfg.Backend, "pid", p.pid, "err", p.exitErr)
	}
	close(p.done)
}

// exitError describes an unexpected exit.
func (p *Process) exitError(ps *os.ProcessState, waitErr error, duringStartup bool) error {
	e := &llm.ServerExitedError{Backend: p.cfg.Backend, PID: p.pid, ExitCode: -1, DuringStartup: duringStartup}
	if ps != nil {
		e.ExitCode, e.Signal = exitStatus(ps)
	} else if waitErr != nil {
		e.Signal = waitErr.Error()
	}
	full := p.Tail()
	cause, line := classify(full)
	if c, ok := p.cfg.ExitCauses[e.ExitCode]; ok && e.Signal == "" {
		cause = c
	}
	e.Cause = cause
	e.LogTail = errorTail(full, line)
	return e
}

// errorTail is the end of the output for an error message, with the line
// that decided the cause put in front if the end does not include it.
func errorTail(full, decisive string) string {
	tail := lastLines(full, errorTailLines, errorTailBytes)
	if decisive != "" && !strings.Contains(tail, decisive) {
		tail = decisive + "\n…\n" + tail
	}
	return tail
}

// setStartupState records a start-up state unless the process has ended:
// the wait goroutine's Failed or Stopped is final, so a probe that
// answers just before the process dies cannot mark it ready after.
func (p *Process) setStartupState(s State) bool {
	for {
		cur := p.state.Load()
		if State(cur) >= StateFailed {
			return false
		}
		if p.state.CompareAndSwap(cur, int32(s)) {
			return true
		}
	}
}

// PID is the server's process id; it is also its process group id.
func (p *Process) PID() int { return p.pid }

// Path is the program that was started.
func (p *Process) Path() string { return p.path }

// Backend is the server's name in errors and logs.
func (p *Process) Backend() string { return p.cfg.Backend }

// State is the server's current state.
func (p *Process) State() State { return State(p.state.Load()) }

// Done is closed when the server process has ended, within milliseconds of
// its exit.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr says why the process ended: nil while it runs and after a Stop,
// otherwise an [*llm.ServerExitedError].
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.exitErr
	default:
		return nil
	}
}

// OutputBytes is how many bytes the server has written so far.
func (p *Process) OutputBytes() int64 { return p.out.Total() }

// Tail returns the server's recent output (up to Config.TailSize bytes of
// whole lines, stdout and stderr in the order they arrived), with
// Config.Secrets redacted. It is safe to call at any time.
func (p *Process) Tail() string {
	return p.redact(p.out.Tail())
}

func (p *Process) redact(s string) string {
	for _, secret := range p.cfg.Secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// Stop stops the server and everything in its process group: SIGTERM, up to
// Config.StopGrace for it to exit, then SIGKILL. Cancelling ctx skips the
// rest of the grace period. Stop returns once the process has been reaped;
// it waits at most a few seconds after SIGKILL and never for pipes a
// lingering grandchild holds. It may be called any number of times, from
// any goroutine; every call waits for the same stop. The error is non-nil
// only if the process could not be made to exit.
func (p *Process) Stop(ctx context.Context) error {
	p.stopRequested.Store(true)
	p.stopOnce.Do(func() { go p.stop() })
	select {
	case <-p.stopped:
	case <-ctx.Done():
		p.hurryOnce.Do(func() { close(p.hurry) })
		<-p.stopped
	}
	return p.stopErr
}

func (p *Process) stop() {
	defer close(p.stopped)
	select {
	case <-p.done:
		return
	default:
	}
	terminate(p.proc, p.pid, false)
	p.contain.term()
	grace := time.NewTimer(p.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
		return
	case <-grace.C:
	case <-p.hurry:
	}
	terminate(p.proc, p.pid, true)
	p.contain.killAll()
	select {
	case <-p.done:
	case <-time.After(killWait):
		p.stopErr = fmt.Errorf("%s (pid %d) did not exit within %s of SIGKILL", p.cfg.Backend, p.pid, killWait)
	}
}

// Launch starts a server and waits until it is ready. If it does not become
// ready, Launch stops it (at once if ctx was cancelled) and returns why: an
// [*llm.BinaryNotFoundError], [*llm.StartupTimeoutError],
// [*llm.ServerExitedError], [*ForeignServerError], the probe's error, or
// ctx's error.
func Launch(ctx context.Context, cfg Config) (*Process, error) {
	p, err := Start(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.WaitReady(ctx); err != nil {
		p.Stop(ctx)
		return nil, err
	}
	return p, nil
}

func baseName(program string) string {
	if i := strings.LastIndexAny(program, `/\`); i >= 0 {
		return program[i+1:]
	}
	if program == "" {
		return "server"
	}
	return program
}
