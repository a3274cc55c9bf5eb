package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// OracleScript is the script, relative to the repository root, that runs
// llama.cpp's measurements.
const OracleScript = "tools/oracle/bench.mjs"

// FindOracle looks for tools/oracle/bench.mjs in dir and each directory
// above it, and returns the directory holding the script.
func FindOracle(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, OracleScript)); err == nil {
			return filepath.Join(dir, filepath.Dir(OracleScript)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in this directory or any above it", OracleScript)
		}
		dir = parent
	}
}

// LlamaCpp runs llama.cpp through node-llama-cpp: tools/oracle/bench.mjs
// under node, one process per file, so that each file's peak resident
// memory is its own.
type LlamaCpp struct {
	// Dir is the directory of bench.mjs and its node_modules.
	Dir string
	// Node is the node program.
	Node string
}

// NewLlamaCpp checks that node and node-llama-cpp are installed for the
// scripts in dir; the error says what is missing.
func NewLlamaCpp(dir string) (*LlamaCpp, error) {
	script := filepath.Join(dir, "bench.mjs")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("%s not found", script)
	}
	pkg := filepath.Join(dir, "node_modules", "node-llama-cpp", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return nil, fmt.Errorf("node-llama-cpp is not installed in %s (run npm ci there)", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH")
	}
	return &LlamaCpp{Dir: dir, Node: node}, nil
}

// Version is the node-llama-cpp package's version, or "".
func (l *LlamaCpp) Version() string {
	data, err := os.ReadFile(filepath.Join(l.Dir, "node_modules", "node-llama-cpp", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct{ Version string }
	if json.Unmarshal(data, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// benchRequest and benchResponse are bench.mjs's request and response
// (documented at the top of the script).
type benchRequest struct {
	Threads int   `json:"threads"`
	Jobs    []Job `json:"jobs"`
}

type benchResponse struct {
	Version string        `json:"version"`
	Jobs    []Measurement `json:"jobs"`
}

// Run measures one file with threads threads. The script's progress lines
// go to progress. A file llama.cpp cannot run is a Measurement with Error
// set; an error means the script itself failed. MaxRSSBytes is the node
// process's peak resident set (see Worker.Run).
func (l *LlamaCpp) Run(ctx context.Context, threads int, job Job, progress io.Writer) (Measurement, error) {
	body, err := json.Marshal(benchRequest{Threads: threads, Jobs: []Job{job}})
	if err != nil {
		return Measurement{}, err
	}
	req, err := os.CreateTemp("", "tether-bench-*.json")
	if err != nil {
		return Measurement{}, err
	}
	defer os.Remove(req.Name())
	if _, err := req.Write(body); err != nil {
		req.Close()
		return Measurement{}, err
	}
	if err := req.Close(); err != nil {
		return Measurement{}, err
	}
	cmd := exec.CommandContext(ctx, l.Node, filepath.Join(l.Dir, "bench.mjs"), req.Name())
	cmd.Dir = l.Dir
	out, err := runChild(ctx, cmd, progress, "llama.cpp's bench.mjs")
	if err != nil {
		return Measurement{}, err
	}
	var resp benchResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Jobs) != 1 {
		return Measurement{}, fmt.Errorf("llama.cpp's bench.mjs wrote %q (want one job's result)", truncate(string(out), 200))
	}
	m := resp.Jobs[0]
	if m.MaxRSSBytes == 0 && m.Error == "" {
		m.MaxRSSBytes = childMaxRSS(cmd.ProcessState)
	}
	return m, nil
}
