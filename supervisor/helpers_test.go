//go:build unix

package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/localserver"
	"github.com/tetherllm/tether/internal/testbin"
)

// Test timing, in one place. Budgets are short so that the tests are fast;
// the bounds they assert are loose enough for a loaded 2-core machine
// running under -race.
const (
	testBudget    = 750 * time.Millisecond
	testGrace     = 300 * time.Millisecond
	promptly      = time.Second // "at once", allowing for a busy machine
	goneDeadline  = 5 * time.Second
	testMaxLife   = "--fault-max-life=2m"
	parentModeEnv = "TETHER_SUPERVISOR_TEST_PARENT"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(parentModeEnv); mode != "" {
		os.Exit(runParent(mode))
	}
	os.Exit(m.Run())
}

// fault describes a fault server launch for a test.
type fault struct {
	cfg   Config
	base  string
	key   string
	alias string
	port  int
}

// faultServer prepares a Config that launches the fault server as
// llama-server would be launched: loopback, a fresh port, a per-launch API
// key and alias, and the llama.cpp health probe with a check that the
// server lists our alias (the launcher's ownership proof, reduced to what
// these tests need).
func faultServer(t testing.TB, args ...string) *fault {
	t.Helper()
	port, err := localserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	f := &fault{port: port, key: localserver.NewSecret(), alias: localserver.NewSecret()}
	f.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	f.cfg = Config{
		Backend: "llama-server",
		Program: testbin.Build(t, testbin.FaultServer),
		Args: append([]string{"-m", "/models/Tiny-Q4_K_M.gguf", "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--api-key", f.key, "--alias", f.alias, "-c", "4096", "-ngl", "99", "--jinja", testMaxLife}, args...),
		Probe:       listsAlias((&HTTPHealth{BaseURL: f.base, APIKey: f.key}).Probe, f.base, f.key, f.alias),
		ReadyLines:  []string{"server is listening on"},
		ReadyBudget: 10 * time.Second,
		StopGrace:   testGrace,
		Secrets:     []string{f.key},
	}
	return f
}

// launch launches and registers a Stop for the end of the test.
func (f *fault) launch(t testing.TB) *Process {
	t.Helper()
	p, err := Launch(context.Background(), f.cfg)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	return p
}

var testClient = localserver.LoopbackClient("")

// get sends an authorised GET and returns the status and body.
func (f *fault) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := testClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// info reads the fault server's /fault/info.
type faultInfo struct {
	PID           int  `json:"pid"`
	GrandchildPID int  `json:"grandchild_pid"`
	FloodDone     bool `json:"flood_done"`
	Ready         bool `json:"ready"`
}

func (f *fault) info(t testing.TB) faultInfo {
	t.Helper()
	code, body, err := f.get(context.Background(), "/fault/info")
	if err != nil || code != 200 {
		t.Fatalf("/fault/info: %d %v", code, err)
	}
	var fi faultInfo
	if err := json.Unmarshal(body, &fi); err != nil {
		t.Fatal(err)
	}
	return fi
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if runtime.GOOS != "linux" {
		return syscall.Kill(pid, 0) == nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// waitGone polls until pid has disappeared and says how long it took.
func waitGone(t testing.TB, pid int, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for alive(pid) {
		if time.Since(start) > deadline {
			t.Fatalf("pid %d still alive after %v", pid, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// killOnCleanup makes sure a process a test left behind on purpose dies.
func killOnCleanup(t testing.TB, pid int) {
	t.Cleanup(func() {
		if pid > 0 && alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			for i := 0; i < 200 && alive(pid); i++ { // so that its cgroup empties
				time.Sleep(5 * time.Millisecond)
			}
		}
	})
}

// events collects start-up events.
type events struct {
	mu  sync.Mutex
	got []Event
}

func (e *events) record(ev Event) {
	e.mu.Lock()
	e.got = append(e.got, ev)
	e.mu.Unlock()
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.got...)
}

// runParent is the re-executed test binary playing an application that
// launches a server and is then killed with SIGKILL. It prints the pids of
// the server and its grandchild and waits to be killed.
func runParent(mode string) int {
	if mode == "adopt" {
		return runAdoptingParent()
	}
	args := []string{"--fault-grandchild=group"}
	noCgroup := false
	switch mode {
	case "escape":
		args = []string{"--fault-grandchild=escape"}
	case "escape-tree":
		args = []string{"--fault-grandchild=escape"}
		noCgroup = true
	case "late-escape-tree": // a grandchild born after the server is ready
		args = []string{"--fault-grandchild=escape", "--fault-grandchild-after=300ms"}
		noCgroup = true
	}
	f := faultServer(&parentTB{}, args...)
	f.cfg.NoCgroup = noCgroup
	f.cfg.Program = os.Getenv("TETHER_SUPERVISOR_TEST_BIN")
	f.cfg.NoWatchdog = mode == "no-watchdog"
	if mode == "remove" {
		f.cfg.Remove = strings.Split(os.Getenv(removeEnv), string(os.PathListSeparator))
	}
	p, err := Launch(context.Background(), f.cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parent:", err)
		return 1
	}
	// End some OS threads: a parent-death signal tied to the wrong thread
	// would kill the server now (golang/go#27505).
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { runtime.LockOSThread() })
	}
	wg.Wait()
	fi := f.info(&parentTB{})
	for i := 0; fi.GrandchildPID == 0 && i < 200; i++ { // a late one
		time.Sleep(10 * time.Millisecond)
		fi = f.info(&parentTB{})
	}
	if strings.HasSuffix(mode, "-tree") {
		waitListed(p, fi.GrandchildPID) // and so told to the watchdog
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "%d %d %s\n", p.PID(), fi.GrandchildPID, f.base)
	w.Flush()
	time.Sleep(time.Minute)
	return 0
}

// removeEnv gives a "remove" parent the paths its watchdog is to remove.
const removeEnv = "TETHER_SUPERVISOR_TEST_REMOVE"

// parentTB lets test helpers run in the parent process.
type parentTB struct{ testing.TB }

func (parentTB) Helper() {}
func (parentTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "parent: "+format+"\n", args...)
	os.Exit(1)
}
func (parentTB) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"parent:"}, args...)...)
	os.Exit(1)
}

// startParent runs the test binary as a parent in the given mode.
func startParent(t *testing.T, mode string) (cmd *exec.Cmd, child, grandchild int, base string) {
	t.Helper()
	bin := testbin.Build(t, testbin.FaultServer)
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), parentModeEnv+"="+mode, "TETHER_SUPERVISOR_TEST_BIN="+bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		sweepCgroups() // a parent without a watchdog leaves its server's
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("parent said nothing: %v", err)
	}
	if _, err := fmt.Sscanf(line, "%d %d %s", &child, &grandchild, &base); err != nil {
		t.Fatalf("parent said %q: %v", line, err)
	}
	killOnCleanup(t, child)
	killOnCleanup(t, grandchild)
	return cmd, child, grandchild, base
}

// launchWithGrandchild launches a fault server whose args make it start
// a grandchild, and returns the process and the grandchild's pid, which
// is alive and killed at the end of the test whatever happens.
func launchWithGrandchild(t *testing.T, f *fault) (*Process, int) {
	t.Helper()
	p := f.launch(t)
	gc := f.info(t).GrandchildPID
	killOnCleanup(t, gc)
	if gc == 0 || !alive(gc) {
		t.Fatalf("no grandchild (pid %d)", gc)
	}
	return p, gc
}

// listsAlias wraps a health probe: once the server says it is ready, its
// model list must name alias, or it is not ours (a squatter).
func listsAlias(health Probe, base, key, alias string) Probe {
	return func(ctx context.Context) (Status, error) {
		st, err := health(ctx)
		if err != nil || st.State != StateReady {
			return st, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/models", nil)
		if err != nil {
			return Status{}, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := testClient.Do(req)
		if err != nil {
			return Status{State: StateListening, Detail: "no answer"}, nil
		}
		defer resp.Body.Close()
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&list)
		var ids []string
		for _, m := range list.Data {
			if m.ID == alias {
				return st, nil
			}
			ids = append(ids, m.ID)
		}
		return Status{}, fmt.Errorf("%w: it serves %q, not our model", ErrNotOurs, ids)
	}
}
