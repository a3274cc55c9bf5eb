// Package bench measures tether's pure-Go engine side by side with
// llama.cpp on the same synthetic GGUF files, on this machine, in one run:
// memory read bandwidth, prompt processing (pp) and decoding (tg) speed,
// time to first token of a long prompt, and each engine's peak resident
// memory. It is `tether bench`'s logic; the command only parses flags.
//
// Each engine measures each file in a child process of its own: tether's
// engine in `tether bench worker` (ServeWorker), llama.cpp in node running
// tools/oracle/bench.mjs, so that every peak resident set is one engine's
// on one file. Both get the same threads, context size and pseudo-random
// tokens (Tokens).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

// Defaults of the benchmark matrix.
var (
	DefaultShapes = []string{"qwen2.5-0.5b", "qwen3-0.6b", "llama-3.2-1b"}
	DefaultTypes  = []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q4_K, quant.F16}
)

// Options choose what Run measures.
type Options struct {
	// Shapes are engine/synth shape names; Types the weight types. Every
	// pair is one file.
	Shapes []string
	Types  []quant.Type
	// Threads is the thread count of both engines (and of the
	// all-threads bandwidth).
	Threads int
	// PP and TG are the prompt and decode lengths; TTFT the long prompt
	// (0 skips it); Repeat how many runs of pp and tg the median is of.
	PP, TG, TTFT, Repeat int
	// Dir holds the synthetic files; existing files of the same name are
	// reused.
	Dir string
	// Kernels is the kernel tier tether's engine runs with ("auto", …).
	Kernels string
	// BandwidthBytes is the bandwidth buffer's size (0: the default).
	BandwidthBytes int64
	// Tether runs tether's measurements.
	Tether Worker
	// LlamaCpp runs llama.cpp's; nil skips them, for LlamaCppSkipped.
	LlamaCpp        *LlamaCpp
	LlamaCppSkipped string
	// Progress receives a line for each step.
	Progress io.Writer
}

// Report is a whole run's results.
type Report struct {
	Env       Env       `json:"env"`
	Bandwidth Bandwidth `json:"bandwidth"`
	PP        int       `json:"pp"`
	TG        int       `json:"tg"`
	TTFT      int       `json:"ttft"`
	Repeat    int       `json:"repeat"`
	Context   int       `json:"context"`
	// LlamaCppSkipped says why llama.cpp was not measured; "" when it was.
	LlamaCppSkipped string       `json:"llamacpp_skipped,omitempty"`
	Files           []FileResult `json:"files"`
}

// FileResult is one file's measurements.
type FileResult struct {
	Shape string `json:"shape"`
	Type  string `json:"type"`
	Path  string `json:"path"`
	// TensorBytes is the size of the file's tensors: about the bytes one
	// decoding step reads.
	TensorBytes uint64 `json:"tensor_bytes"`
	// KVBytes is the size of the run's KV cache (F16, the report's
	// context).
	KVBytes  uint64  `json:"kv_bytes"`
	Tether   *Engine `json:"tether,omitempty"`
	LlamaCpp *Engine `json:"llamacpp,omitempty"`
}

// Engine is one engine's results on one file. Speeds are medians.
type Engine struct {
	Measurement
	PPTokS float64 `json:"pp_tok_s,omitempty"`
	TGTokS float64 `json:"tg_tok_s,omitempty"`
}

// Summarise turns an engine's raw timings of a pp/tg run into speeds.
func Summarise(m Measurement, pp, tg int) *Engine {
	e := &Engine{Measurement: m}
	if ms := median(m.PPms); ms > 0 {
		e.PPTokS = float64(pp) / ms * 1000
	}
	if ms := median(m.TGms); ms > 0 {
		e.TGTokS = float64(tg) / ms * 1000
	}
	return e
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// ok reports whether the engine measured the file.
func (e *Engine) ok() bool { return e != nil && e.Error == "" }

// Ratios are tether's speeds divided by llama.cpp's; 0 where either is
// missing.
func (f FileResult) Ratios() (pp, tg float64) {
	if !f.Tether.ok() || !f.LlamaCpp.ok() {
		return 0, 0
	}
	if f.LlamaCpp.PPTokS > 0 {
		pp = f.Tether.PPTokS / f.LlamaCpp.PPTokS
	}
	if f.LlamaCpp.TGTokS > 0 {
		tg = f.Tether.TGTokS / f.LlamaCpp.TGTokS
	}
	return pp, tg
}

// Bound is the decode speed the memory bandwidth allows: bandwidth
// (all threads) divided by the bytes of weights one token reads.
func (r *Report) Bound(f FileResult) float64 {
	if f.TensorBytes == 0 {
		return 0
	}
	return r.Bandwidth.AllThreads * 1e9 / float64(f.TensorBytes)
}

// FileName is the synthetic file's name for a shape and type.
func FileName(shape string, typ quant.Type) string {
	return fmt.Sprintf("%s-%s.gguf", shape, strings.ToLower(typ.String()))
}

// FileError is a problem with the directory of the synthetic files.
type FileError struct {
	Path, Reason string
	Err          error
}

func (e *FileError) Error() string { return fmt.Sprintf("bench: %s: %s: %v", e.Path, e.Reason, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Run measures every file of the matrix, tether's engine and then
// llama.cpp on each. File problems are a *FileError (the directory) or an
// *llm.ModelFileError (a synthetic file). An engine's failure on one file is kept in its
// result and the run goes on; the report is returned with the first of
// tether's failures as the error.
func Run(ctx context.Context, o Options) (*Report, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	r := &Report{
		Env: CollectEnv(o.Threads, o.Kernels), PP: o.PP, TG: o.TG, TTFT: o.TTFT, Repeat: o.Repeat,
		Context: ContextFor(o.PP, o.TG, o.TTFT), LlamaCppSkipped: o.LlamaCppSkipped,
	}
	if o.LlamaCpp != nil {
		r.Env.LlamaCpp = "node-llama-cpp " + o.LlamaCpp.Version()
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, &FileError{Path: o.Dir, Reason: "cannot create the directory for synthetic files", Err: err}
	}
	if r.Env.Load > float64(r.Env.CPUs)/2 {
		say("the machine is busy (load average %.1f on %d CPUs): timings will be noisy, llama.cpp's most, "+
			"as its threads wait for each other at every step", r.Env.Load, r.Env.CPUs)
	}
	size := o.BandwidthBytes
	if size <= 0 {
		size = DefaultBandwidthBytes
	}
	say("measuring memory read bandwidth (%s buffer, 1 and %d threads)", formatBytes(uint64(size)), o.Threads)
	bw, err := MeasureBandwidth(ctx, size, o.Threads, 3)
	if err != nil {
		return nil, err
	}
	r.Bandwidth = bw
	say("memory read bandwidth: %.1f GB/s on 1 thread, %.1f GB/s on %d", bw.OneThread, bw.AllThreads, bw.Threads)
	if o.LlamaCpp == nil {
		say("llama.cpp skipped: %s", o.LlamaCppSkipped)
	}

	total := len(o.Shapes) * len(o.Types)
	var firstErr error
	for _, shape := range o.Shapes {
		for _, typ := range o.Types {
			n := len(r.Files) + 1
			label := fmt.Sprintf("[%d/%d] %s %s", n, total, shape, strings.ToLower(typ.String()))
			path := filepath.Join(o.Dir, FileName(shape, typ))
			if err := ensureFile(ctx, path, shape, typ, func(msg string) { say("%s: %s", label, msg) }); err != nil {
				return nil, err
			}
			info, err := ReadFileInfo(path)
			if err != nil {
				return nil, &llm.ModelFileError{Path: path, Reason: "cannot read the synthetic file (delete it to write it again)", Err: err}
			}
			fr := FileResult{Shape: shape, Type: strings.ToLower(typ.String()), Path: path, TensorBytes: info.TensorBytes,
				KVBytes: info.KVBytesPerToken * uint64(r.Context)}
			job := Job{Path: path, Context: r.Context, PP: o.PP, TG: o.TG, Repeat: o.Repeat, TTFT: o.TTFT, Vocab: info.Vocab}

			say("%s: tether (pp%d, tg%d ×%d%s, %d threads, %s kernels)", label, o.PP, o.TG, o.Repeat, ttftNote(o.TTFT), o.Threads, o.Kernels)
			m, err := o.Tether.Run(ctx, WorkerRequest{Threads: o.Threads, Kernels: o.Kernels, Job: job}, progress)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				m = Measurement{Error: err.Error()}
			}
			fr.Tether = Summarise(m, o.PP, o.TG)
			if m.Error != "" {
				say("%s: tether failed: %s", label, m.Error)
				if firstErr == nil {
					firstErr = fmt.Errorf("tether's engine failed on %s: %s", path, m.Error)
				}
			} else if m.Kernels != "" {
				r.Env.Kernels = m.Kernels
			}

			if o.LlamaCpp != nil {
				say("%s: llama.cpp (same tokens, threads and context)", label)
				m, err := o.LlamaCpp.Run(ctx, o.Threads, job, progress)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					m = Measurement{Error: err.Error()}
				}
				if m.Error != "" {
					say("%s: llama.cpp failed: %s", label, m.Error)
				}
				fr.LlamaCpp = Summarise(m, o.PP, o.TG)
			}
			r.Files = append(r.Files, fr)
		}
	}
	return r, firstErr
}

func ttftNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", ttft%d", n)
}

// ensureFile writes the synthetic model unless a file of that name is
// there already.
func ensureFile(ctx context.Context, path, shape string, typ quant.Type, say func(string)) error {
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		say("reusing " + path)
		return nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return &llm.ModelFileError{Path: path, Reason: "cannot read", Err: err}
	}
	sh, err := synth.NamedShape(shape, "")
	if err != nil {
		return err
	}
	m, err := synth.New(synth.Options{Shape: sh, Type: typ, Seed: 1})
	if err != nil {
		return err
	}
	var total uint64
	for _, t := range m.Tensors() {
		total += t.Bytes
	}
	say(fmt.Sprintf("writing %s (%s of weights)", path, formatBytes(total)))
	if err := m.WriteFile(ctx, path); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &llm.ModelFileError{Path: path, Reason: "cannot write the synthetic file", Err: err}
	}
	return nil
}

// formatBytes prints a size in binary units.
func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
