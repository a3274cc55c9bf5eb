//go:build unix

package supervisor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

func TestInstanceRestartsADeadServer(t *testing.T) {
	var last atomic.Pointer[fault]
	in := NewInstance(func(ctx context.Context) (*Process, error) {
		f := faultServer(t) // a fresh port and fresh secrets for each start
		last.Store(f)
		return Launch(ctx, f.cfg)
	}, RestartPolicy{Backoff: 50 * time.Millisecond})
	defer in.Close(context.Background())

	// Concurrent first callers share one start.
	var wg sync.WaitGroup
	pids := make(chan int, 10)
	for range 10 {
		wg.Go(func() {
			p, err := in.EnsureRunning(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			pids <- p.PID()
		})
	}
	wg.Wait()
	close(pids)
	first := <-pids
	for pid := range pids {
		if pid != first {
			t.Fatalf("concurrent callers got servers %d and %d", first, pid)
		}
	}
	if n := in.Launches(); n != 1 {
		t.Fatalf("%d starts for concurrent callers, want 1", n)
	}

	// The server dies between requests; once that is known, the next
	// call gets a new one.
	dying, _ := in.EnsureRunning(context.Background())
	syscall.Kill(first, syscall.SIGKILL)
	<-dying.Done()
	p, err := in.EnsureRunning(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() == first || in.Launches() != 2 {
		t.Fatalf("after a crash: pid %d (was %d), %d starts", p.PID(), first, in.Launches())
	}
	if code, _, err := last.Load().get(context.Background(), "/health"); err != nil || code != 200 {
		t.Fatalf("restarted server: %d %v", code, err)
	}

	// A live server is returned as it is.
	if again, err := in.EnsureRunning(context.Background()); err != nil || again != p {
		t.Fatalf("EnsureRunning on a live server: %v %v", again, err)
	}
}

func TestInstanceBacksOffAndGivesUp(t *testing.T) {
	const backoff = 200 * time.Millisecond
	var starts atomic.Int32
	in := NewInstance(func(ctx context.Context) (*Process, error) {
		starts.Add(1)
		return Launch(ctx, faultServer(t, "--fault-crash=error loading model: invalid magic").cfg)
	}, RestartPolicy{Backoff: backoff, MaxFailures: 2})
	defer in.Close(context.Background())

	_, err := in.EnsureRunning(context.Background())
	var sx *llm.ServerExitedError
	if !errors.As(err, &sx) || sx.Cause != llm.CauseBadModel {
		t.Fatalf("first start: %v", err)
	}
	start := time.Now()
	_, err = in.EnsureRunning(context.Background())
	if waited := time.Since(start); waited < backoff {
		t.Fatalf("second start after %v, want a backoff of %v", waited, backoff)
	}
	if !errors.As(err, &sx) {
		t.Fatalf("second start: %v", err)
	}
	start = time.Now()
	_, err = in.EnsureRunning(context.Background())
	if !errors.As(err, &sx) || starts.Load() != 2 || time.Since(start) > promptly {
		t.Fatalf("after the limit: %v, %d starts, %v", err, starts.Load(), time.Since(start))
	}
}

func TestInstanceWaitIsCancellableAndCloseEndsIt(t *testing.T) {
	f := faultServer(t, "--fault-load=20s", "--fault-quiet")
	in := NewInstance(func(ctx context.Context) (*Process, error) { return Launch(ctx, f.cfg) }, RestartPolicy{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := in.EnsureRunning(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("EnsureRunning = %v, want the caller's deadline", err)
	}
	start := time.Now()
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > promptly {
		t.Fatalf("Close took %v with a start in progress", took)
	}
	if _, err := in.EnsureRunning(context.Background()); !errors.Is(err, ErrInstanceClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
