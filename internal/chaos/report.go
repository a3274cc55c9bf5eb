package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tetherllm/tether/internal/bench"
)

// section is one suite's results.
type section struct {
	Suite Suite
	Rows  []Row
	// Err says why the suite could not run at all.
	Err error
}

// header describes the run for the report's reader.
type header struct {
	Env     bench.Env
	Memory  string
	CI      bool
	Seed    uint64
	Command string
	Elapsed time.Duration
}

// writeReport writes the results as Markdown.
func writeReport(w io.Writer, h header, sections []section) error {
	var b strings.Builder
	kind := "full run"
	if h.CI {
		kind = "CI-sized subset"
	}
	fmt.Fprintf(&b, "# Reliability\n\n")
	fmt.Fprintf(&b, "Produced by one run of `%s` (%s), %s; it took %s.\n\n", h.Command, kind, h.Env.Date, h.Elapsed.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %s, %d cores, %s memory\n", h.Env.CPU, h.Env.CPUs, h.Memory)
	fmt.Fprintf(&b, "- Commit: %s, %s, seed %d\n\n", h.Env.Commit, h.Env.GoVersion, h.Seed)
	fmt.Fprintf(&b, "Each row counts trials and failures (the target is 0) and states the bound it checked with the figure measured. ")
	fmt.Fprintf(&b, "Every trial runs real processes: tether built from the commit above, its fault-injection server, real signals and real sockets.\n\n")
	trials, failures := 0, 0
	for _, s := range sections {
		for _, r := range s.Rows {
			trials += r.Trials
			failures += r.Failures
		}
	}
	fmt.Fprintf(&b, "Total: %d trials, %d failures.\n", trials, failures)
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Suite.Group)
		if s.Suite.About != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Suite.About)
		}
		if s.Err != nil {
			fmt.Fprintf(&b, "**Could not run:** %s\n", cell(s.Err.Error()))
			continue
		}
		fmt.Fprintf(&b, "| trial | trials | failures | bound checked (measured) | time |\n|---|---:|---:|---|---:|\n")
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n", cell(r.Name), r.Trials, r.Failures, cell(r.Bound), r.Elapsed.Round(100*time.Millisecond))
		}
		for _, r := range s.Rows {
			if r.Failures == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n**%s** — %d of %d failed.", r.Name, r.Failures, r.Trials)
			if r.Explained != "" {
				fmt.Fprintf(&b, " %s", r.Explained)
			}
			fmt.Fprintf(&b, "\n\n")
			for _, f := range r.Failed {
				fmt.Fprintf(&b, "- %s\n", oneLine(f))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

// oneLine folds text onto one line and bounds its length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 400
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
