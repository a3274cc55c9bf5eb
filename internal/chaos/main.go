package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tetherllm/tether/internal/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		ci      = flag.Bool("ci", false, "run the CI-sized subset")
		out     = flag.String("out", "", "write the report here (default: docs/reliability.md for a full run, nothing for -ci)")
		only    = flag.String("only", "", "run only the suites whose group matches this regexp")
		seed    = flag.Uint64("seed", 0, "random seed (default: from the clock)")
		verbose = flag.Bool("v", false, "log progress")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "chaos: unexpected argument %q\n", flag.Arg(0))
		return 2
	}
	var filter *regexp.Regexp
	if *only != "" {
		var err error
		if filter, err = regexp.Compile("(?i)" + *only); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: -only: %v\n", err)
			return 2
		}
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		return 1
	}
	if *out == "" && !*ci && filter == nil {
		*out = filepath.Join(root, "docs", "reliability.md")
	}
	dir, err := os.MkdirTemp("", "tether-chaos-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	log := discardLogger()
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	env := &Env{Root: root, Dir: dir, CI: *ci, Rand: rand.New(rand.NewPCG(*seed, 1)), Log: log}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	slices.SortStableFunc(suites, func(a, b Suite) int { return a.Order - b.Order })
	start := time.Now()
	var sections []section
	bad := 0
	for _, s := range suites {
		if filter != nil && !filter.MatchString(s.Group) {
			continue
		}
		fmt.Fprintf(os.Stderr, "chaos: %s\n", s.Group)
		began := time.Now()
		rows, err := s.Run(ctx, env)
		sections = append(sections, section{Suite: s, Rows: rows, Err: err})
		if err != nil {
			bad++
			fmt.Fprintf(os.Stderr, "chaos:   could not run: %v\n", err)
		}
		for _, r := range rows {
			status := "ok"
			if r.unexplained() {
				bad++
				status = "FAILED"
			} else if r.Failures > 0 {
				status = "explained"
			}
			fmt.Fprintf(os.Stderr, "chaos:   %-9s %4d/%-4d %s — %s\n", status, r.Failures, r.Trials, r.Name, r.Bound)
			for _, f := range r.Failed {
				fmt.Fprintf(os.Stderr, "chaos:             %s\n", oneLine(f))
			}
		}
		fmt.Fprintf(os.Stderr, "chaos:   (%s)\n", time.Since(began).Round(time.Second))
		if ctx.Err() != nil {
			break
		}
	}
	command := "go run ./internal/chaos"
	if *ci {
		command += " -ci"
	}
	h := header{
		Env: bench.CollectEnv(runtime.GOMAXPROCS(0), ""), Memory: memTotal(), CI: *ci, Seed: *seed,
		Command: command, Elapsed: time.Since(start),
	}
	if *out != "" {
		var buf bytes.Buffer
		if err := writeReport(&buf, h, sections); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
			return 1
		}
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "chaos: wrote %s\n", *out)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "chaos: interrupted")
		return 130
	}
	if bad > 0 {
		fmt.Fprintf(os.Stderr, "chaos: %d rows or suites failed\n", bad)
		return 1
	}
	return 0
}

// moduleRoot is the directory of the module being tested.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run chaos inside the tether module")
	}
	return filepath.Dir(mod), nil
}

// memTotal is the machine's memory as /proc/meminfo gives it.
func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kib int64
			if _, err := fmt.Sscan(rest, &kib); err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
			}
		}
	}
	return "unknown"
}
