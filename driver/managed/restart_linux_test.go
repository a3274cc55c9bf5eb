//go:build linux

package managed

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestRequestRightAfterADeathIsAnsweredByTheRestart kills the server and
// asks at once, after the process has ended but before the driver may
// have noticed: with Restart, the refused request goes to the new server
// instead of failing. Each round races the supervisor's reaping of the
// dead server; some land in the moment before it, which is the case.
func TestRequestRightAfterADeathIsAnsweredByTheRestart(t *testing.T) {
	onPath(t, "llama-server")
	d := launch(t, Options{Model: modelGGUF(t, 2048), Backend: "llama-server", Restart: true})
	for round := range 8 {
		pid := d.PID()
		must(t, syscall.Kill(pid, syscall.SIGKILL))
		for !endedOrZombie(pid) {
			runtime.Gosched()
		}
		var err error
		if round%2 == 0 {
			_, err = d.Complete(context.Background(), ask("hi"))
		} else {
			for _, e := range d.Stream(context.Background(), ask("hi")) {
				if e != nil {
					err = e
				}
			}
		}
		if err != nil {
			t.Fatalf("round %d: the request after the server's death failed: %v", round, err)
		}
	}
	if d.Launches() != 9 {
		t.Fatalf("%d launches, want 9", d.Launches())
	}
}

// endedOrZombie reports whether pid has exited (reaped or not).
func endedOrZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}
