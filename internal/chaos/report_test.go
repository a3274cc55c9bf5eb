package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReportListsRowsAndFailures(t *testing.T) {
	var r Row
	r.Name = "SIGKILL | while loading"
	for i := range 7 {
		var err error
		if i%3 == 0 {
			err = errors.New("orphan pid 42\nstill running")
		}
		r.Check(err)
	}
	r.Bound = "no descendant alive after 2 s"
	sections := []section{
		{Suite: Suite{Group: "Parent killed", About: "Kills."}, Rows: []Row{r}},
		{Suite: Suite{Group: "Fuzzing"}, Err: errors.New("go test did not build")},
	}
	var b strings.Builder
	if err := writeReport(&b, header{Command: "go run ./internal/chaos", Elapsed: time.Minute}, sections); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"Total: 7 trials, 3 failures.",
		`| SIGKILL \| while loading | 7 | 3 | no descendant alive after 2 s |`,
		"- orphan pid 42 still running",
		"**Could not run:** go test did not build",
		"## Parent killed\n\nKills.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if !r.unexplained() {
		t.Error("a row with failures and no explanation must fail the run")
	}
	r.Explained = "the kernel was out of pids"
	if r.unexplained() {
		t.Error("an explained row must not fail the run")
	}
}

func TestCoordinatorTimeoutIsNotACrasher(t *testing.T) {
	failed := errors.New("exit status 1")
	timeout := []byte("--- FAIL: FuzzSSEReader (3.12s)\n    context deadline exceeded\nFAIL\n")
	if !coordinatorTimeout(timeout, failed) {
		t.Error("the coordinator's timeout without a failing input is not recognised")
	}
	crash := []byte("--- FAIL: FuzzX (0.5s)\n    context deadline exceeded\n    Failing input written to testdata/fuzz/FuzzX/abc\n")
	if coordinatorTimeout(crash, failed) {
		t.Error("a run that wrote a failing input is taken for the coordinator's timeout")
	}
	if coordinatorTimeout(timeout, nil) {
		t.Error("a passing run is taken for a timeout")
	}
}
