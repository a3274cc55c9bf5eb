package main

import (
	"context"
	"fmt"
	"time"
)

// Row is one line of the report: a kind of trial, how often it ran, how
// often it failed, and the bound it checked.
type Row struct {
	// Name says what was done, as a reader of the report would ask it:
	// "SIGKILL of tether run while the server loads".
	Name string
	// Trials and Failures count the attempts and those that broke a
	// property the row checks.
	Trials, Failures int
	// Bound states the property checked with the figure measured, such as
	// "exit 3 within 2 s; peak RSS 41 MB (bound 256 MB)".
	Bound string
	// Explained says why the row's failures are acceptable. A row with
	// failures and no explanation fails the run.
	Explained string
	// Failed describes the first few failures, for the report's details.
	Failed []string
	// Elapsed is the row's wall time.
	Elapsed time.Duration
}

// maxFailureDetails bounds how many failures a row keeps descriptions of.
const maxFailureDetails = 5

// Fail counts a failure and keeps its description.
func (r *Row) Fail(format string, args ...any) {
	r.Failures++
	if len(r.Failed) < maxFailureDetails {
		r.Failed = append(r.Failed, fmt.Sprintf(format, args...))
	}
}

// Check counts a trial, and a failure when err is not nil.
func (r *Row) Check(err error) {
	r.Trials++
	if err != nil {
		r.Fail("%v", err)
	}
}

// unexplained reports whether the row's failures fail the run.
func (r *Row) unexplained() bool { return r.Failures > 0 && r.Explained == "" }

// Suite is one group of rows, a section of the report.
type Suite struct {
	// Order places the section in the report.
	Order int
	// Group is the section's title.
	Group string
	// About is a paragraph under the title: what the trials do.
	About string
	// Run runs the trials. It returns the rows, partial ones included
	// when ctx ends. An error means the suite could not run at all (say,
	// a program did not build); it fails the run.
	Run func(ctx context.Context, e *Env) ([]Row, error)
}

var suites []Suite

// register adds a suite; each suite's file calls it from init.
func register(s Suite) { suites = append(suites, s) }
