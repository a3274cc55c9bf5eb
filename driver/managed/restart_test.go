package managed

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a server a test kills on cue.
type fakeServer struct {
	id      int
	done    chan struct{}
	death   error
	stopped atomic.Bool
}

func (f *fakeServer) Done() <-chan struct{} { return f.done }
func (f *fakeServer) Death() error          { return f.death }
func (f *fakeServer) Stop(context.Context) error {
	f.stopped.Store(true)
	return nil
}

func (f *fakeServer) kill(err error) {
	f.death = err
	close(f.done)
}

// fakeStarts launches fake servers, or fails when told to, and records
// the waits the restarter asked for.
type fakeStarts struct {
	mu      sync.Mutex
	n       int
	fail    error
	block   chan struct{} // when set, a start waits for it (or its context)
	entered chan struct{} // when set, a start sends on it as it begins
	// finishOnCancel makes a blocked start produce its server when its
	// context ends, as a start that was a moment from done would.
	finishOnCancel bool
	made           []*fakeServer
	now            time.Time
	waits          []time.Duration
	release        chan time.Time
}

func newFakeStarts() *fakeStarts {
	return &fakeStarts{now: time.Unix(1000, 0), release: make(chan time.Time)}
}

func (f *fakeStarts) launch(ctx context.Context) (*fakeServer, error) {
	f.mu.Lock()
	f.n++
	n, fail, block, entered, finish := f.n, f.fail, f.block, f.entered, f.finishOnCancel
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			if !finish {
				return nil, ctx.Err()
			}
		}
	}
	if fail != nil {
		return nil, fail
	}
	s := &fakeServer{id: n, done: make(chan struct{})}
	f.mu.Lock()
	f.made = append(f.made, s)
	f.mu.Unlock()
	return s, nil
}

func (f *fakeStarts) starts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *fakeStarts) restarter(first *fakeServer, p restartPolicy) *restarter[*fakeServer] {
	r := newRestarter(first, f.launch, p)
	r.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	}
	r.after = func(d time.Duration) <-chan time.Time {
		f.mu.Lock()
		f.waits = append(f.waits, d)
		f.mu.Unlock()
		return f.release
	}
	r.readyAt = f.now
	return r
}

func (f *fakeStarts) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func TestRestarterSharesOneStartAmongCallers(t *testing.T) {
	f := newFakeStarts()
	first := &fakeServer{id: 0, done: make(chan struct{})}
	r := f.restarter(first, restartPolicy{Restart: true})
	defer r.close(context.Background())

	if s, err := r.get(context.Background()); err != nil || s != first {
		t.Fatalf("a live server: %v %v", s, err)
	}
	f.advance(time.Hour) // it ran long: its death is not a failure
	first.kill(errors.New("killed"))
	var wg sync.WaitGroup
	got := make(chan *fakeServer, 10)
	for range 10 {
		wg.Go(func() {
			s, err := r.get(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- s
		})
	}
	wg.Wait()
	close(got)
	second := <-got
	for s := range got {
		if s != second {
			t.Fatalf("concurrent callers got servers %d and %d", second.id, s.id)
		}
	}
	if second == first || f.starts() != 1 || r.launches() != 2 {
		t.Fatalf("after a death: server %d, %d starts, %d launches", second.id, f.starts(), r.launches())
	}
	if !first.stopped.Load() {
		t.Error("the dead server was not cleaned up")
	}
	if len(f.waits) != 0 {
		t.Errorf("a stable server's death waited %v before the restart", f.waits)
	}
}

func TestRestarterBacksOffAfterFailures(t *testing.T) {
	f := newFakeStarts()
	first := &fakeServer{done: make(chan struct{})}
	r := f.restarter(first, restartPolicy{Restart: true, Backoff: time.Second, MaxBackoff: 3 * time.Second})
	defer r.close(context.Background())

	// A server that dies at once counts as a failure: the restart waits.
	first.kill(errors.New("crashed"))
	f.fail = errors.New("cannot start")
	results := make(chan error)
	get := func() {
		go func() {
			_, err := r.get(context.Background())
			results <- err
		}()
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		get()
		f.release <- time.Time{} // the restarter is waiting: let it start
		if err := <-results; err == nil || err.Error() != "cannot start" {
			t.Fatalf("start %d: %v", i, err)
		}
		if got := f.waits[len(f.waits)-1]; got != want {
			t.Fatalf("wait before start %d: %v, want %v (all: %v)", i, got, want, f.waits)
		}
	}
	// Success resets nothing until the server has run long enough.
	f.fail = nil
	get()
	f.release <- time.Time{}
	if err := <-results; err != nil {
		t.Fatal(err)
	}
	s, _ := r.current()
	f.advance(time.Hour)
	s.kill(errors.New("died after an hour"))
	if _, err := r.get(context.Background()); err != nil {
		t.Fatalf("restart after a stable run: %v", err)
	}
	if n := len(f.waits); n != 5 {
		t.Fatalf("a stable run's death waited: %v", f.waits)
	}
}

func TestRestarterWithoutRestartReturnsTheDeath(t *testing.T) {
	f := newFakeStarts()
	first := &fakeServer{done: make(chan struct{})}
	r := f.restarter(first, restartPolicy{})
	defer r.close(context.Background())
	death := errors.New("exit status 3")
	first.kill(death)
	for range 3 {
		if _, err := r.get(context.Background()); !errors.Is(err, death) {
			t.Fatalf("get = %v, want the death", err)
		}
	}
	if f.starts() != 0 {
		t.Fatalf("%d starts without Restart", f.starts())
	}
}

func TestRestarterWaitIsCancellableAndCloseAbandonsTheStart(t *testing.T) {
	f := newFakeStarts()
	f.block = make(chan struct{}) // starts hang until their context ends
	first := &fakeServer{done: make(chan struct{})}
	r := f.restarter(first, restartPolicy{Restart: true})
	f.advance(time.Hour)
	first.kill(errors.New("gone"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("get = %v, want the caller's cancellation", err)
	}
	if err := r.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.get(context.Background()); !errors.Is(err, errRestarterClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestRestarterStopsAServerStartedDuringClose(t *testing.T) {
	f := newFakeStarts()
	f.block, f.entered, f.finishOnCancel = make(chan struct{}), make(chan struct{}), true
	first := &fakeServer{done: make(chan struct{})}
	r := f.restarter(first, restartPolicy{Restart: true})
	f.advance(time.Hour)
	first.kill(errors.New("gone"))
	var got *fakeServer
	var err error
	done := make(chan struct{})
	go func() {
		got, err = r.get(context.Background())
		close(done)
	}()
	<-f.entered // the start is under way
	closed := make(chan error)
	go func() { closed <- r.close(context.Background()) }()
	<-done
	if err == nil || got != nil {
		t.Fatalf("a start during close returned %v, %v", got, err)
	}
	if e := <-closed; e != nil {
		t.Fatal(e)
	}
	if len(f.made) != 1 || !f.made[0].stopped.Load() {
		t.Fatal("the server a start produced during close was left running")
	}
}

func TestRestarterCloseStopsTheServer(t *testing.T) {
	f := newFakeStarts()
	first := &fakeServer{done: make(chan struct{})}
	r := f.restarter(first, restartPolicy{Restart: true})
	if err := r.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !first.stopped.Load() {
		t.Fatal("close left the server running")
	}
	if _, ok := r.current(); ok {
		t.Fatal("a closed restarter still has a server")
	}
}
