//go:build unix

package supervisor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestStopNeverHangs(t *testing.T) {
	t.Run("a server that ignores SIGTERM is killed after the grace", func(t *testing.T) {
		f := faultServer(t, "--fault-ignore-sigterm")
		p := f.launch(t)
		start := time.Now()
		if err := p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if took < testGrace || took > testGrace+promptly {
			t.Fatalf("Stop took %v, want the %v grace and little more", took, testGrace)
		}
		waitGone(t, p.PID(), goneDeadline)
	})
	t.Run("a grandchild in the group holding the pipes", func(t *testing.T) {
		p, gc := launchWithGrandchild(t, faultServer(t, "--fault-grandchild=group"))
		start := time.Now()
		if err := p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > promptly {
			t.Fatalf("Stop took %v", took)
		}
		waitGone(t, gc, goneDeadline)
	})
	t.Run("a child that crashed leaves no grandchild", func(t *testing.T) {
		f := faultServer(t, "--fault-grandchild=group", "--fault-crash-after=300ms", "--fault-crash=boom")
		p := f.launch(t)
		gc := f.info(t).GrandchildPID
		killOnCleanup(t, gc)
		<-p.Done()
		waitGone(t, gc, goneDeadline)
	})
	t.Run("concurrent and repeated stops", func(t *testing.T) {
		f := faultServer(t, "--fault-term-delay=100ms")
		p := f.launch(t)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Go(func() { errs <- p.Stop(context.Background()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Stop(context.Background()); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		if p.ExitErr() != nil {
			t.Fatalf("a stopped server reports %v", p.ExitErr())
		}
	})
	t.Run("a cancelled context skips the grace", func(t *testing.T) {
		f := faultServer(t, "--fault-ignore-sigterm")
		f.cfg.StopGrace = time.Minute
		p := f.launch(t)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		p.Stop(ctx)
		if took := time.Since(start); took > 100*time.Millisecond+promptly {
			t.Fatalf("Stop took %v", took)
		}
	})
}

func TestParentKilledLeavesNothingBehind(t *testing.T) {
	t.Run("watchdog and parent-death signal", func(t *testing.T) {
		parent, child, grandchild, base := startParent(t, "watchdog")
		// The parent ended threads after launching; the server must have
		// survived that.
		if !alive(child) || !alive(grandchild) {
			t.Fatalf("server %d or grandchild %d died before the parent", child, grandchild)
		}
		resp, err := testClient.Get(base + "/health")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("server not answering before the parent dies: %v", err)
		}
		resp.Body.Close()
		parent.Process.Signal(syscall.SIGKILL)
		parent.Wait()
		t.Logf("server gone %v after the parent", waitGone(t, child, goneDeadline))
		t.Logf("grandchild gone %v after the parent", waitGone(t, grandchild, goneDeadline))
	})
	t.Run("parent-death signal alone", func(t *testing.T) {
		parent, child, _, _ := startParent(t, "no-watchdog")
		parent.Process.Signal(syscall.SIGKILL)
		parent.Wait()
		t.Logf("server gone %v after the parent", waitGone(t, child, goneDeadline))
	})
}

// TestParentKilledLeavesNoLaunchFiles kills a parent whose launch made
// files (a socket's directory, a key file): its watchdog removes them
// once the server is dead.
func TestParentKilledLeavesNoLaunchFiles(t *testing.T) {
	base := t.TempDir()
	state, sock := filepath.Join(base, "state"), filepath.Join(base, "sock")
	for _, d := range []string{state, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(state, "api-key"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(removeEnv, state+string(os.PathListSeparator)+sock)
	parent, child, grandchild, _ := startParent(t, "remove")
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	waitGone(t, child, goneDeadline)
	waitGone(t, grandchild, goneDeadline)
	// The watchdog removes them after its SIGKILL to the descendants it
	// knows and before the one to the whole group, which ends it.
	deadline := time.Now().Add(goneDeadline)
	for _, d := range []string{state, sock} {
		for {
			_, err := os.Stat(d)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s outlived the killed parent's watchdog (%v)", d, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
