//go:build unix

package supervisor

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testbin"
)

// healthLatency measures one health request.
func healthLatency(t *testing.T, f *fault, limit time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	_, _, err := f.get(ctx, "/health")
	return time.Since(start), err
}

// stallBound is the slowest health answer the flood test accepts.
const stallBound = 2 * time.Second

func TestLogFloodDoesNotStallTheServer(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	f := faultServer(t, "--fault-flood="+strconv.FormatInt(size, 10))
	start := time.Now()
	p := f.launch(t)
	var worst time.Duration
	probes := 0
	for !f.info(t).FloodDone {
		d, err := healthLatency(t, f, 5*time.Second)
		if err != nil {
			t.Fatalf("health while flooding: %v after %v", err, d)
		}
		worst = max(worst, d)
		probes++
		if time.Since(start) > 60*time.Second {
			t.Fatalf("flood not done after a minute; %d bytes drained", p.OutputBytes())
		}
	}
	// The flood is written; the last of it may still be in the pipes.
	for p.OutputBytes() < size && time.Since(start) < 70*time.Second {
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("%d MiB of logs drained in %v (%.0f MiB/s); %d health checks meanwhile, slowest %v",
		p.OutputBytes()>>20, took, float64(p.OutputBytes())/(1<<20)/took.Seconds(), probes, worst)
	if p.OutputBytes() < size {
		t.Fatalf("drained %d bytes, want at least %d", p.OutputBytes(), size)
	}
	// Undrained, the server stalls for ever (see the control below); a
	// slow answer here can only be the machine being busy.
	if worst > stallBound {
		t.Fatalf("slowest health check while flooding took %v", worst)
	}
	if n := len(p.Tail()); n > DefaultTailSize+4096 {
		t.Fatalf("tail is %d bytes, more than the ring", n)
	}
}

func TestLogFileGetsAllOutput(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "server.log")
	f := faultServer(t, "--fault-flood=1M", "--fault-flood-to=stdout")
	f.cfg.LogFile = logPath
	p := f.launch(t)
	for !f.info(t).FloodDone {
		time.Sleep(5 * time.Millisecond)
	}
	p.Stop(context.Background())
	info, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < p.OutputBytes() || info.Mode().Perm() != 0o600 {
		t.Fatalf("log file %d bytes, mode %v; the server wrote %d", info.Size(), info.Mode(), p.OutputBytes())
	}
}

// The control for the flood test: a parent that does not drain the pipes,
// as the seed did, stalls the server within a pipe buffer's worth of logs.
// If this stopped stalling, the flood test above would prove nothing.
func TestUndrainedPipeStallsTheServer(t *testing.T) {
	f := faultServer(t, "--fault-flood=4M")
	cmd := exec.Command(testbin.Build(t, testbin.FaultServer), f.cfg.Args...)
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	cmd.Stdout, cmd.Stderr = pipeW, pipeW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pipeW.Close()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// Wait until it listens.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(f.port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never listened: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Once the flood has filled the pipe, every request blocks on its
	// log line.
	stalled := false
	for i := 0; i < 50 && !stalled; i++ {
		if _, err := healthLatency(t, f, 200*time.Millisecond); err != nil {
			stalled = true
		}
	}
	if !stalled {
		t.Fatal("the server kept answering with nobody draining its pipes")
	}
}
