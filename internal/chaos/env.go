package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetherllm/tether/internal/testmodel"
)

// Env is what every suite shares: the programs under test, built once
// from this source tree, a scratch directory, the random source and the
// size of the run.
type Env struct {
	// Root is the module's root directory; programs are built from it.
	Root string
	// Dir is a scratch directory removed when the run ends.
	Dir string
	// CI says the run is the CI-sized subset.
	CI bool
	// Rand is seeded from -seed, so a failing run can be repeated.
	Rand *rand.Rand
	// Log reports progress on stderr.
	Log *slog.Logger

	mu       sync.Mutex
	programs map[string]string
	models   map[string]string
}

// Trials is full in a full run and ci in the CI subset.
func (e *Env) Trials(full, ci int) int {
	if e.CI {
		return ci
	}
	return full
}

// Duration is full in a full run and ci in the CI subset.
func (e *Env) Duration(full, ci time.Duration) time.Duration {
	if e.CI {
		return ci
	}
	return full
}

// Tether is the tether command, built from this tree.
func (e *Env) Tether(ctx context.Context) (string, error) {
	return e.Program(ctx, "./cmd/tether", "")
}

// FaultServer is the scripted fault-injection server
// (internal/faultserver), built from this tree.
func (e *Env) FaultServer(ctx context.Context) (string, error) {
	return e.Program(ctx, "./internal/faultserver", "")
}

// Program builds the main package pkg (a path relative to Root) with the
// given build tags, once per run, and returns the program's path.
func (e *Env) Program(ctx context.Context, pkg, tags string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := pkg + "\x00" + tags
	if p, ok := e.programs[key]; ok {
		return p, nil
	}
	name := filepath.Base(pkg)
	if tags != "" {
		name += "-" + strings.ReplaceAll(tags, ",", "-")
	}
	out := filepath.Join(e.Dir, "bin", name)
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", tags, "-o", out, pkg)
	cmd.Dir = e.Root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, msg)
	}
	if e.programs == nil {
		e.programs = map[string]string{}
	}
	e.programs[key] = out
	return out, nil
}

// processTrials builds what the process suites run: tether, the fault
// server, and the default tiny model.
func (e *Env) processTrials(ctx context.Context) (tether, fault, model string, err error) {
	if tether, err = e.Tether(ctx); err != nil {
		return
	}
	if fault, err = e.FaultServer(ctx); err != nil {
		return
	}
	model, err = e.Model(testmodel.Spec{})
	return
}

// Model writes the tiny test model spec describes into the scratch
// directory, once per run, and returns its path.
func (e *Env) Model(spec testmodel.Spec) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	path := filepath.Join(e.Dir, "models", spec.FileName())
	if p, ok := e.models[path]; ok {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := testmodel.WriteFile(path, spec); err != nil {
		return "", err
	}
	if e.models == nil {
		e.models = map[string]string{}
	}
	e.models[path] = path
	return path, nil
}

// TempDir makes a fresh directory under the scratch directory.
func (e *Env) TempDir(pattern string) (string, error) {
	return os.MkdirTemp(e.Dir, pattern)
}

// discardLogger is the logger of a quiet run.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
