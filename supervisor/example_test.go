//go:build unix

package supervisor_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tetherllm/tether/supervisor"
)

// Running a program under supervision: it starts in a process group of
// its own, is watched until its probe says it is ready, and is stopped
// with SIGTERM (SIGKILL after the grace period), its descendants with it.
// A real server's probe is an [supervisor.HTTPHealth]; this one says
// ready at once.
func ExampleLaunch() {
	ready := func(context.Context) (supervisor.Status, error) {
		return supervisor.Status{State: supervisor.StateReady}, nil
	}
	p, err := supervisor.Launch(context.Background(), supervisor.Config{
		Backend:     "sleeper",
		Program:     "sleep",
		Args:        []string{"60"},
		Probe:       ready,
		ReadyBudget: 10 * time.Second,
		OnState:     func(ev supervisor.Event) { fmt.Println("state:", ev.State) },
	})
	if err != nil {
		log.Fatal(err) // typed: *llm.BinaryNotFoundError, *llm.ServerExitedError, ...
	}
	fmt.Println("running:", p.PID() > 0)
	if err := p.Stop(context.Background()); err != nil {
		log.Fatal(err)
	}
	<-p.Done()
	fmt.Println("stopped")
	// Output:
	// state: spawned
	// state: ready
	// running: true
	// stopped
}
