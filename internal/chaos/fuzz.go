package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func init() {
	register(Suite{
		Order: 60,
		Group: "Fuzzing",
		About: "Every fuzz target of the module — the parsers of GGUF files, SSE streams, tool-call text, reasoning blocks, chat and Messages requests, " +
			"chat templates, grammars and JSON schemas, messages and tool definition files, error bodies and more — run by `go test -fuzz -parallel 2`, " +
			"sharing a fixed budget of 7.5 minutes in a full run (each row gives the time its target got; CI fuzzes four targets for 3 s each). " +
			"The targets are found by reading the test files, so a new one joins by itself. A crasher that go test writes to testdata/fuzz is kept " +
			"as a regression test and fixed at its root; a row fails while one is found.",
		Run: runFuzzing,
	})
}

// fuzzTarget is one FuzzXxx function and its package directory.
type fuzzTarget struct {
	Dir  string // relative to the module root, "./engine/gguf"
	Name string
}

var fuzzFuncRe = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)

// fuzzTargets lists the module's fuzz targets by reading its test files.
func fuzzTargets(root string) ([]fuzzTarget, error) {
	var targets []fuzzTarget
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range fuzzFuncRe.FindAllSubmatch(data, -1) {
			targets = append(targets, fuzzTarget{Dir: "./" + filepath.ToSlash(rel), Name: string(m[1])})
		}
		return nil
	})
	slices.SortFunc(targets, func(a, b fuzzTarget) int {
		return strings.Compare(a.Dir+" "+a.Name, b.Dir+" "+b.Name)
	})
	return targets, err
}

// ciFuzzTargets are the CI subset: parsers of what crosses a process
// boundary, in packages whose instrumented build is quick.
var ciFuzzTargets = []fuzzTarget{
	{"./engine/gguf", "FuzzParse"},
	{"./internal/sse", "FuzzSSEReader"},
	{"./toolcall", "FuzzParse"},
	{"./think", "FuzzSplitter"},
}

var (
	execsRe    = regexp.MustCompile(`execs: (\d+)`)
	baselineRe = regexp.MustCompile(`gathering baseline coverage: (\d+)/(\d+) completed`)
	crasherRe  = regexp.MustCompile(`(?:Failing input written to|failure while testing seed corpus entry:)\s*(\S+)`)
)

func runFuzzing(ctx context.Context, e *Env) ([]Row, error) {
	targets, err := fuzzTargets(e.Root)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no fuzz targets found under %s", e.Root)
	}
	if e.CI {
		targets = slices.DeleteFunc(slices.Clone(ciFuzzTargets), func(t fuzzTarget) bool {
			_, err := os.Stat(filepath.Join(e.Root, t.Dir))
			return err != nil
		})
	}
	// A full run shares a time budget among the targets: each fuzzes for
	// its share less what building the instrumented test binary and
	// replaying the corpus have cost the targets before it.
	budget := e.Duration(7*time.Minute+30*time.Second, 0)
	deadline := time.Now().Add(budget)
	overhead, done := 6*time.Second, 0
	var rows []Row
	for i, t := range targets {
		if ctx.Err() != nil {
			break
		}
		fuzzTime := 3 * time.Second
		if !e.CI {
			share := time.Until(deadline) / time.Duration(len(targets)-i)
			fuzzTime = min(max(share-overhead, 2*time.Second), 15*time.Second).Round(time.Second)
		}
		e.Log.Info("fuzz", "target", t.Name, "package", t.Dir, "time", fuzzTime)
		r := fuzzOnce(ctx, e, t, fuzzTime)
		rows = append(rows, r)
		// The running mean of what a target costs beyond its fuzzing.
		done++
		overhead += (max(r.Elapsed-fuzzTime, 0) - overhead) / time.Duration(done+1)
	}
	return rows, nil
}

// fuzzOnce runs one target for fuzzTime. A trial is one execution of the
// target; the row fails when go test fails (a crasher, a build failure).
func fuzzOnce(ctx context.Context, e *Env, t fuzzTarget, fuzzTime time.Duration) Row {
	r := Row{Name: fmt.Sprintf("%s (%s)", t.Name, strings.TrimPrefix(t.Dir, "./"))}
	began := time.Now()
	// The build of the instrumented test binary comes before the fuzzing
	// time; the bound leaves room for a cold build cache.
	tctx, cancel := context.WithTimeout(ctx, fuzzTime+5*time.Minute)
	defer cancel()
	var out []byte
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		cmd := exec.CommandContext(tctx, "go", "test", "-run", "^$", "-fuzz", "^"+t.Name+"$",
			"-fuzztime", fuzzTime.String(), "-parallel", "2", t.Dir)
		cmd.Dir = e.Root
		out, err = cmd.CombinedOutput()
		if !coordinatorTimeout(out, err) {
			break
		}
	}
	r.Elapsed = time.Since(began)
	execs := 0
	for _, m := range execsRe.FindAllSubmatch(out, -1) {
		execs, _ = strconv.Atoi(string(m[1]))
	}
	baseline := ""
	if execs == 0 {
		// The whole time went to replaying the corpus (seeds, testdata
		// and the cached corpus): each input replayed is a trial.
		for _, m := range baselineRe.FindAllSubmatch(out, -1) {
			execs, _ = strconv.Atoi(string(m[1]))
			baseline = fmt.Sprintf(" (all of them replaying the corpus of %s inputs)", m[2])
		}
	}
	r.Trials = max(execs, 1)
	if err != nil {
		msg := fmt.Sprintf("go test: %v", err)
		if m := crasherRe.FindSubmatch(out); m != nil {
			msg = fmt.Sprintf("crasher kept in %s/%s", t.Dir, string(m[1]))
		}
		r.Fail("%s: %s", msg, failureLines(out))
	}
	r.Bound = fmt.Sprintf("no crash, hang or failed property in %s of fuzzing (-parallel 2): %d executions%s", fuzzTime, execs, baseline)
	if execs == 0 {
		r.Bound = fmt.Sprintf("no crash, hang or failed property in %s of fuzzing (-parallel 2); go test printed no execution count", fuzzTime)
	}
	return r
}

// coordinatorTimeout reports the go command's fuzzing coordinator ending
// with "context deadline exceeded" and no failing input: it does so now
// and then when -fuzztime runs out while a worker is starting on a loaded
// machine, with nothing wrong in the target. Such a run is repeated once.
func coordinatorTimeout(out []byte, err error) bool {
	return err != nil && bytes.Contains(out, []byte("context deadline exceeded")) && crasherRe.Find(out) == nil
}

// failureLines picks the lines of go test's output that say what failed.
func failureLines(out []byte) string {
	var picked []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "fuzz: elapsed") || strings.HasPrefix(line, "=== ") {
			continue
		}
		picked = append(picked, line)
		if len(picked) == 6 {
			break
		}
	}
	return strings.Join(picked, " / ")
}
