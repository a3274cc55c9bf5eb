package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/quant"
)

// Job is one file's measurement, as tools/oracle/bench.mjs takes it in its
// request's jobs and tether's worker takes it in its request.
type Job struct {
	Path string `json:"path"`
	// Context is the KV cache's size in tokens; both engines get the same.
	Context int `json:"context"`
	PP      int `json:"pp"`
	TG      int `json:"tg"`
	// Repeat is how many times pp and tg are measured (the report takes
	// the median); ttft is measured once.
	Repeat int `json:"repeat"`
	// TTFT is the prompt length for the time to first token; 0 skips it.
	TTFT int `json:"ttft,omitempty"`
	// Vocab is the model's vocabulary size, which bounds the tokens of
	// the shared pseudo-random sequence (see Tokens).
	Vocab int `json:"vocab"`
}

// WorkerRequest is what `tether bench worker` reads on its standard input.
type WorkerRequest struct {
	Threads int `json:"threads"`
	// Kernels names the kernel tier ("auto", "scalar", "avx2", …).
	Kernels string `json:"kernels,omitempty"`
	Job
}

// Measurement is one engine's timings of one file: a job of
// bench.mjs's response, or what tether's worker writes on its standard
// output.
type Measurement struct {
	// Error says why the engine could not measure the file.
	Error  string    `json:"error,omitempty"`
	PPms   []float64 `json:"pp_ms"`
	TGms   []float64 `json:"tg_ms"`
	TTFTms float64   `json:"ttft_ms,omitempty"`
	// RSSBytes is the resident set after the runs; MaxRSSBytes the
	// process's peak as it saw it (VmHWM, or node's maxRSS).
	RSSBytes    uint64 `json:"rss_bytes,omitempty"`
	MaxRSSBytes uint64 `json:"max_rss_bytes,omitempty"`
	// Kernels is the kernel tier tether's engine ran with.
	Kernels string `json:"kernels,omitempty"`
}

// Measure runs tether's engine on one file in this process, as the
// worker does: it loads the model with req.Threads threads, warms up,
// then times a pp-token prompt from an empty cache (Repeat times), tg
// single-token evaluations after a 1-token prompt (Repeat times), and a
// ttft-token prompt (once). Each single-token step picks the arg-max of
// the logits, as llama.cpp's greedy sampler does after every step of
// bench.mjs. Progress lines go to progress.
func Measure(ctx context.Context, req WorkerRequest, progress io.Writer) (Measurement, error) {
	var out Measurement
	j := req.Job
	if j.PP < 1 || j.TG < 1 || j.Repeat < 1 || j.TTFT < 0 || req.Threads < 0 {
		return out, fmt.Errorf("bench: pp %d, tg %d and repeat %d must be positive, ttft %d and threads %d not negative",
			j.PP, j.TG, j.Repeat, j.TTFT, req.Threads)
	}
	if err := quant.SetKernelTier(req.Kernels); err != nil {
		return out, err
	}
	out.Kernels = quant.KernelTier()
	f, err := gguf.Open(j.Path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	m, err := model.Load(f, model.Options{Threads: req.Threads})
	if err != nil {
		return out, err
	}
	defer m.Close()
	vocab := j.Vocab
	if vocab <= 0 {
		vocab = m.Config().Vocab
	}
	capacity := j.Context
	if capacity <= 0 {
		capacity = ContextFor(j.PP, j.TG, j.TTFT)
	}
	if need := max(j.PP, j.TG+1, j.TTFT, 9); capacity < need {
		return out, fmt.Errorf("bench: context %d is shorter than the %d tokens measured", capacity, need)
	}
	cache, err := m.NewCache(capacity, model.KVF16)
	if err != nil {
		return out, err
	}
	prompt, err := m.NewWorkspace(min(512, capacity))
	if err != nil {
		return out, err
	}
	decode, err := m.NewWorkspace(1)
	if err != nil {
		return out, err
	}
	name := filepath.Base(j.Path)
	say := func(phase string, ms float64, tokens int) {
		fmt.Fprintf(progress, "tether %s: %s %.0f ms (%s tok/s)\n", name, phase, ms, speed(float64(tokens)/ms*1000))
	}
	eval := func(ws *model.Workspace, toks []int32) error {
		logits, err := m.Eval(ctx, ws, cache, toks)
		if err == nil {
			sink = argmax(logits)
		}
		return err
	}

	// Warm-up: a short prompt pages the weights in, as bench.mjs's does,
	// and one decoding step sizes the decode path's scratch.
	seq := Tokens(max(j.PP, j.TG+1, j.TTFT, 9), vocab)
	if err := eval(prompt, seq[:8]); err != nil {
		return out, err
	}
	if err := eval(decode, seq[8:9]); err != nil {
		return out, err
	}
	for range j.Repeat {
		cache.Reset()
		t0 := time.Now()
		if err := eval(prompt, seq[:j.PP]); err != nil {
			return out, err
		}
		out.PPms = append(out.PPms, msSince(t0))
		say(fmt.Sprintf("pp%d", j.PP), out.PPms[len(out.PPms)-1], j.PP)
	}
	for range j.Repeat {
		cache.Reset()
		if err := eval(decode, seq[:1]); err != nil {
			return out, err
		}
		t0 := time.Now()
		for i := 1; i <= j.TG; i++ {
			if err := eval(decode, seq[i:i+1]); err != nil {
				return out, err
			}
		}
		out.TGms = append(out.TGms, msSince(t0))
		say(fmt.Sprintf("tg%d", j.TG), out.TGms[len(out.TGms)-1], j.TG)
	}
	if j.TTFT > 0 {
		cache.Reset()
		t0 := time.Now()
		if err := eval(prompt, seq[:j.TTFT]); err != nil {
			return out, err
		}
		out.TTFTms = msSince(t0)
		say(fmt.Sprintf("ttft%d", j.TTFT), out.TTFTms, j.TTFT)
	}
	out.RSSBytes, out.MaxRSSBytes = procStatus("VmRSS"), procStatus("VmHWM")
	return out, nil
}

// sink keeps the arg-max of every step alive.
var sink int

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

// ContextFor is the KV cache size both engines get for a run: room for
// the longest sequence measured and 256 tokens more, rounded up to 256
// tokens as llama.cpp pads its contexts. The headroom matters: measured
// here, node-llama-cpp evaluates a prompt that fills its context exactly
// at half the speed of one that leaves room (pp512: 6.1 s in a 512-token
// context, 3.1 s in a 768-token one), which would flatter tether.
func ContextFor(pp, tg, ttft int) int {
	n := max(pp, tg+1, ttft, 9) + 256
	return (n + 255) / 256 * 256
}

// procStatus reads a size in kB from /proc/self/status, in bytes; 0 where
// there is none.
func procStatus(key string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return n * 1024
	}
	return 0
}

// ServeWorker is `tether bench worker`: it reads a WorkerRequest (JSON)
// from in, measures the file in this process with GOMAXPROCS set to the
// thread count, and writes the Measurement (JSON) to out; progress goes
// to errw. A failed measurement is a Measurement with Error set; only a
// request that cannot be read, or an output that cannot be written, is an
// error.
func ServeWorker(ctx context.Context, in io.Reader, out, errw io.Writer) error {
	var req WorkerRequest
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("bench worker: bad request: %w", err)
	}
	if req.Threads > 0 {
		runtime.GOMAXPROCS(req.Threads)
	}
	m, err := Measure(ctx, req, errw)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m = Measurement{Error: err.Error(), Kernels: m.Kernels}
	}
	return json.NewEncoder(out).Encode(m)
}

// Worker runs tether's measurements, each file in a child process of its
// own, so that each file's peak resident memory is its own.
type Worker struct {
	// Command starts the worker: a program and its arguments, e.g. the
	// tether binary and "bench", "worker".
	Command []string
	// Env is the child's environment; nil means this process's.
	Env []string
}

// Run measures one file in a new worker process. Its progress lines go to
// progress. The measurement's MaxRSSBytes is the child's peak resident
// set as it read it (VmHWM); only where it could not is it the kernel's
// ru_maxrss, which on Linux also counts this process's peak, inherited
// across fork and exec.
func (w Worker) Run(ctx context.Context, req WorkerRequest, progress io.Writer) (Measurement, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Measurement{}, err
	}
	if len(w.Command) == 0 {
		return Measurement{}, errors.New("bench: no worker command")
	}
	cmd := exec.CommandContext(ctx, w.Command[0], w.Command[1:]...)
	cmd.Env = w.Env
	cmd.Stdin = bytes.NewReader(body)
	out, err := runChild(ctx, cmd, progress, "tether's bench worker")
	if err != nil {
		return Measurement{}, err
	}
	var m Measurement
	if err := json.Unmarshal(out, &m); err != nil {
		return Measurement{}, fmt.Errorf("tether's bench worker wrote %q: %v", truncate(string(out), 200), err)
	}
	if m.MaxRSSBytes == 0 {
		m.MaxRSSBytes = childMaxRSS(cmd.ProcessState)
	}
	return m, nil
}

// tailWriter passes a child's standard error through and keeps its last
// line, or the line a Go panic starts with, for error messages.
type tailWriter struct {
	w     io.Writer
	line  []byte
	prev  []byte
	panic bool
}

func (t *tailWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			if len(bytes.TrimSpace(t.line)) > 0 && !t.panic {
				t.prev = append(t.prev[:0], t.line...)
				t.panic = bytes.HasPrefix(t.line, []byte("panic: ")) || bytes.HasPrefix(t.line, []byte("fatal error: "))
			}
			t.line = t.line[:0]
		} else if len(t.line) < 4096 {
			t.line = append(t.line, b)
		}
	}
	if t.w != nil {
		return t.w.Write(p)
	}
	return len(p), nil
}

// last is ": " and the last non-empty line written, or "".
func (t *tailWriter) last() string {
	l := t.prev
	if len(bytes.TrimSpace(t.line)) > 0 && !t.panic {
		l = t.line
	}
	if len(l) == 0 {
		return ""
	}
	return ": " + truncate(string(bytes.TrimSpace(l)), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// FileInfo is what the report needs to know of a model file.
type FileInfo struct {
	// TensorBytes is the size of all tensors: about the bytes of weights
	// one decoding step reads.
	TensorBytes uint64
	Vocab       int
	// KVBytesPerToken is the size of one token's keys and values in an
	// F16 cache, both engines' default.
	KVBytesPerToken uint64
}

// ReadFileInfo reads a file's tensor sizes, vocabulary and cache size.
func ReadFileInfo(path string) (FileInfo, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	cfg, err := model.ReadConfig(f)
	if err != nil {
		return FileInfo{}, err
	}
	var info FileInfo
	for _, t := range f.Tensors() {
		info.TensorBytes += t.Size
	}
	info.Vocab = cfg.Vocab
	info.KVBytesPerToken = uint64(cfg.Layers) * uint64(cfg.KVHeads) * uint64(cfg.HeadDimK+cfg.HeadDimV) * 2
	return info, nil
}

// runChild runs cmd, passing its standard error on to progress, and
// returns its standard output; who names it in errors, which end with
// the last lines it wrote.
func runChild(ctx context.Context, cmd *exec.Cmd, progress io.Writer, who string) ([]byte, error) {
	var stdout bytes.Buffer
	tail := &tailWriter{w: progress}
	cmd.Stdout, cmd.Stderr = &stdout, tail
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if runErr != nil {
		return nil, fmt.Errorf("%s failed: %v%s", who, runErr, tail.last())
	}
	return stdout.Bytes(), nil
}
