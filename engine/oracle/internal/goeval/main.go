// Command goeval is tether's side of the llama.cpp oracle tests: it
// writes synthetic model files and runs the engine on them. The tests
// build it without the race detector and run it as a child process, so
// the numeric work stays fast under go test -race (the engine's own
// packages are race-tested by their own tests).
//
//	goeval write request.json    writes the files a request lists
//	goeval eval request.json     prints the engine's results as JSON
//
// write: {"files": [{"path": "x.gguf", "arch": "qwen2", "type": "q8_0",
// "tie": false, "template": "qwen2.5", "seed": 1, "tool_call": false}]}
//
// eval: {"jobs": [{"path": "x.gguf", "tokenize": ["text"], "prompts":
// [{"text": "...", "tokens": [ids], "force": [ids], "report": [[ids]],
// "greedy": N}]}]}. For each prompt the engine tokenizes text; then,
// from the given tokens (llama.cpp's), it evaluates the prompt in one
// pass and each forced token one at a time, reporting at every step its
// arg-max and the log-probabilities of that step's report ids; then it
// decodes greedily on its own for N steps.
//
// eval answers {"jobs": [{"error": "...", "eog": [ids], "tokenize":
// [[ids]], "prompts": [{"tokens": [ids], "steps": [{"argmax": id,
// "logprobs": [lp]}], "greedy": [ids]}]}]}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/oracle/internal/protocol"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goeval write|eval request.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "write":
		err = write(data)
	case "eval":
		err = eval(data)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "goeval:", err)
	os.Exit(1)
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

func write(data []byte) error {
	var req struct {
		Files []protocol.File `json:"files"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return err
	}
	errs := make([]error, len(req.Files))
	parallel(len(req.Files), func(i int) {
		f := req.Files[i]
		shape, err := synth.Tiny(f.Arch)
		if err != nil {
			errs[i] = err
			return
		}
		shape.Tie = f.Tie
		if f.Template != "" {
			shape.Template = f.Template
		}
		typ, err := quant.ParseType(f.Type)
		if err != nil {
			errs[i] = err
			return
		}
		_, errs[i] = synth.Write(context.Background(), f.Path, synth.Options{Shape: shape, Type: typ, Seed: f.Seed, ToolCall: f.ToolCall})
	})
	return errors.Join(errs...)
}

func eval(data []byte) error {
	var req struct {
		Jobs []protocol.Job `json:"jobs"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return err
	}
	out := make([]protocol.Result, len(req.Jobs))
	parallel(len(req.Jobs), func(i int) {
		r, err := runJob(req.Jobs[i])
		if err != nil {
			r = protocol.Result{Error: err.Error()}
		}
		out[i] = r
	})
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"jobs": out, "kernels": quant.KernelTier()})
}

func runJob(job protocol.Job) (protocol.Result, error) {
	var r protocol.Result
	f, err := gguf.Open(job.Path)
	if err != nil {
		return r, err
	}
	defer f.Close()
	tok, err := newTokenizer(f)
	if err != nil {
		return r, err
	}
	m, err := model.Load(f, model.Options{Threads: 1})
	if err != nil {
		return r, err
	}
	defer m.Close()
	r.EOG = tok.EOGTokens()
	for _, text := range job.Tokenize {
		r.Tokenize = append(r.Tokenize, nonNil(tok.Encode(text, false, true)))
	}
	ws, err := m.NewWorkspace(512)
	if err != nil {
		return r, err
	}
	for _, p := range job.Prompts {
		pr := protocol.PromptResult{Tokens: nonNil(tok.Encode(p.Text, false, true))}
		if len(p.Tokens) > 0 {
			steps, err := forced(m, ws, p)
			if err != nil {
				return r, err
			}
			pr.Steps = steps
			if pr.Greedy, err = greedy(m, ws, p.Tokens, p.Greedy); err != nil {
				return r, err
			}
		}
		r.Prompts = append(r.Prompts, pr)
	}
	return r, nil
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

// forced evaluates the prompt, then each forced token, reporting at every
// step (after the prompt and after each forced token but the last).
func forced(m *model.Model, ws *model.Workspace, p protocol.Prompt) ([]protocol.Step, error) {
	c, err := m.NewCache(len(p.Tokens)+len(p.Force), model.KVF16)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	logits, err := m.Eval(ctx, ws, c, p.Tokens)
	if err != nil {
		return nil, err
	}
	var steps []protocol.Step
	for s := range p.Report {
		lp := logSoftmax(logits)
		st := protocol.Step{Argmax: argmax(lp)}
		for _, id := range p.Report[s] {
			if id < 0 || int(id) >= len(lp) {
				return nil, fmt.Errorf("report id %d out of range", id)
			}
			st.Logprobs = append(st.Logprobs, lp[id])
		}
		steps = append(steps, st)
		if s+1 < len(p.Report) {
			if s >= len(p.Force) {
				return nil, fmt.Errorf("%d report steps need %d forced tokens, got %d", len(p.Report), len(p.Report)-1, len(p.Force))
			}
			if logits, err = m.Eval(ctx, ws, c, p.Force[s:s+1]); err != nil {
				return nil, err
			}
		}
	}
	return steps, nil
}

// greedy decodes n tokens from the prompt by arg-max.
func greedy(m *model.Model, ws *model.Workspace, prompt []int32, n int) ([]int32, error) {
	if n == 0 {
		return nil, nil
	}
	c, err := m.NewCache(len(prompt)+n, model.KVF16)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	logits, err := m.Eval(ctx, ws, c, prompt)
	if err != nil {
		return nil, err
	}
	var out []int32
	for len(out) < n {
		tok := argmax(logSoftmax(logits))
		out = append(out, tok)
		if len(out) < n {
			if logits, err = m.Eval(ctx, ws, c, []int32{tok}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// newTokenizer builds the tokenizer from the file's metadata.
func newTokenizer(f *gguf.File) (*tokenizer.Tokenizer, error) {
	g, err := f.Tokenizer()
	if err != nil {
		return nil, err
	}
	v := tokenizer.EmptyVocab()
	v.Model, v.Pre, v.Tokens, v.Types, v.Scores, v.Merges = g.Model, g.Pre, g.Tokens, g.Types, g.Scores, g.Merges
	v.AddBOS, v.AddEOS, v.AddSpacePrefix = g.AddBOS, g.AddEOS, g.AddSpacePrefix
	v.Name, _ = gguf.GetOr(f, "general.name", "")
	v.Arch, _ = f.Architecture()
	for name, id := range g.Special {
		v.SetSpecial(name, id)
	}
	return tokenizer.New(v)
}

// logSoftmax is computed in float64 from the float32 logits.
func logSoftmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = math.Max(mx, float64(l))
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - mx)
	}
	lse := mx + math.Log(sum)
	out := make([]float64, len(logits))
	for i, l := range logits {
		out[i] = float64(l) - lse
	}
	return out
}

// argmax is the first index of the largest value, as llama.cpp's greedy
// sampler picks it.
func argmax(x []float64) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}
