package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// oracleDir holds the node package with node-llama-cpp (npm ci there).
const oracleDir = "../../tools/oracle"

// requireEnv, when set to 1, turns a missing node or npm install into a
// failure instead of a skip (for CI machines that must run the oracle).
const requireEnv = "TETHER_REQUIRE_ORACLE"

// evalJob is one model for eval.mjs.
type evalJob struct {
	Path     string       `json:"path"`
	Context  int          `json:"context"`
	NTokens  int          `json:"n_tokens"`
	Tokenize []string     `json:"tokenize,omitempty"`
	Prompts  []evalPrompt `json:"prompts,omitempty"`
}

type evalPrompt struct {
	Text  string `json:"text"`
	Steps int    `json:"steps"`
	Top   int    `json:"top"`
}

// evalResult is eval.mjs's answer for one job.
type evalResult struct {
	Error    string    `json:"error"`
	EOG      []int32   `json:"eog"`
	Tokenize [][]int32 `json:"tokenize"`
	Prompts  []struct {
		Tokens []int32    `json:"tokens"`
		Steps  []evalStep `json:"steps"`
	} `json:"prompts"`
}

type evalStep struct {
	Token int32 `json:"token"`
	// Top holds [id, log-probability] pairs, most likely first; a
	// log-probability of underflow stands for a float32 probability of 0.
	Top [][2]float64 `json:"top"`
}

// underflow is eval.mjs's log-probability for a probability that is 0 in
// float32 (below about e^-104).
const underflow = -1e30

// underflowed reports whether llama.cpp's log-probability lp underflowed;
// the engine's must then be tiny too (below -90: float32's exp is 0 below
// about -104 and denormal below -87).
func underflowed(lp float64) bool { return lp <= underflow/2 }

// nodeMissing says why llama.cpp cannot run here, or "" if it can.
func nodeMissing() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed"
	}
	if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", "node-llama-cpp")); err != nil {
		return "node-llama-cpp is not installed (run npm ci in tools/oracle)"
	}
	return ""
}

// skipWithoutNode skips the test, loudly, when llama.cpp cannot run; with
// TETHER_REQUIRE_ORACLE=1 it fails instead.
func skipWithoutNode(t *testing.T) {
	t.Helper()
	why := nodeMissing()
	if why == "" {
		return
	}
	msg := fmt.Sprintf("LLAMA.CPP ORACLE NOT RUN: %s; the engine was NOT compared with llama.cpp", why)
	if os.Getenv(requireEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// runEval runs eval.mjs once over all jobs.
func runEval(ctx context.Context, dir string, threads int, jobs []evalJob) ([]evalResult, error) {
	req, err := json.Marshal(map[string]any{"threads": threads, "jobs": jobs})
	if err != nil {
		return nil, err
	}
	reqPath := filepath.Join(dir, "request.json")
	if err := os.WriteFile(reqPath, req, 0o644); err != nil {
		return nil, err
	}
	script, err := filepath.Abs(filepath.Join(oracleDir, "eval.mjs"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, reqPath)
	cmd.Dir = oracleDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("eval.mjs: %v\n%s", err, stderr.String())
	}
	var resp struct {
		Jobs []evalResult `json:"jobs"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("eval.mjs output: %v", err)
	}
	if len(resp.Jobs) != len(jobs) {
		return nil, fmt.Errorf("eval.mjs answered %d jobs of %d", len(resp.Jobs), len(jobs))
	}
	nodeTime = time.Since(start)
	return resp.Jobs, nil
}

// nodeTime and goTime are how long the node run and the engine's run
// took, for the log.
var nodeTime, goTime time.Duration

// goevalPkg is the engine's side of the comparison, run as a child
// process built without the race detector.
const goevalPkg = "github.com/tetherllm/tether/engine/oracle/internal/goeval"

// runGoeval runs the goeval program in mode with request req and decodes
// its output into resp (if not nil).
func runGoeval(ctx context.Context, program, dir, mode string, req, resp any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	reqPath := filepath.Join(dir, "goeval-"+mode+".json")
	if err := os.WriteFile(reqPath, data, 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, mode, reqPath)
	if engineTier != "" {
		cmd.Env = append(os.Environ(), "TETHER_KERNELS="+engineTier)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("goeval %s: %v\n%s", mode, err, stderr.String())
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(out, resp); err != nil {
		return fmt.Errorf("goeval %s output: %v", mode, err)
	}
	return nil
}
