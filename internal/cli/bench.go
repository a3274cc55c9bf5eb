package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/bench"
	"github.com/tetherllm/tether/internal/engine/quant"
)

// benchFlags are the flags of tether bench.
type benchFlags struct {
	shapes, types                 []string
	threads, pp, tg, ttft, repeat int
	dir, kernels, oracleDir       string
	markdown, chart               string
	jsonOut, noLlamaCpp           bool
	bandwidthMiB                  int
}

func newBenchCommand(s streams) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure tether's engine side by side with llama.cpp on synthetic models",
		Long: `Measure tether's pure-Go engine side by side with llama.cpp on this machine, in
one run, on the same synthetic GGUF files of real models' shapes: memory read
bandwidth (1 thread and all), prompt processing (pp) and decoding (tg) speed
with their ratio, decoding as a percentage of the bound the bandwidth sets,
time to first token of a long prompt, and each engine's peak resident memory.

Both engines get the same threads, context size and pseudo-random tokens; each
measures each file in a process of its own. llama.cpp is node-llama-cpp's
prebuilt CPU build, run through tools/oracle/bench.mjs (found above the working
directory, or with --oracle-dir); without node or node-llama-cpp, or with
--no-llamacpp, only tether is measured and the comparison is skipped.

Synthetic files are written to --dir the first time and reused after. Progress
goes to standard error, the table to standard output.`,
		Example: `  tether bench
  tether bench --shapes qwen2.5-0.5b --types q8_0,q4_k --markdown bench.md --chart bench.png
  tether bench --kernels scalar --no-llamacpp --ttft 0 --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("bench takes no arguments, got %q (see tether bench --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd.Flags().Changed("kernels"))
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: cannot find tether's own binary for the worker: %w", err)
			}
			o.Tether = bench.Worker{Command: []string{exe, "bench", "worker"}}
			o.Progress = s.err
			if f.noLlamaCpp {
				o.LlamaCppSkipped = "--no-llamacpp"
			} else if o.LlamaCpp, err = findLlamaCpp(f.oracleDir); err != nil {
				o.LlamaCppSkipped = err.Error()
			}
			report, runErr := bench.Run(cmd.Context(), o)
			var dirErr *bench.FileError
			if errors.As(runErr, &dirErr) {
				runErr = inputFileError{runErr}
			}
			if report == nil {
				return runErr
			}
			if err := writeBenchOutputs(s, f, report); err != nil {
				return err
			}
			return runErr
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.shapes, "shapes", bench.DefaultShapes, "model shapes, comma-separated: "+strings.Join(synth.ShapeNames(), ", "))
	var types []string
	for _, t := range bench.DefaultTypes {
		types = append(types, strings.ToLower(t.String()))
	}
	fl.StringSliceVar(&f.types, "types", types, "weight types, comma-separated: "+typeList())
	fl.IntVar(&f.threads, "threads", runtime.NumCPU(), "threads of both engines")
	fl.IntVar(&f.pp, "pp", 512, "prompt processing: tokens of the prompt")
	fl.IntVar(&f.tg, "tg", 128, "decoding: tokens generated one at a time")
	fl.IntVar(&f.ttft, "ttft", 4000, "time to first token of a prompt of this many tokens (0 skips it)")
	fl.IntVar(&f.repeat, "repeat", 3, "runs of pp and tg; the report takes the median")
	fl.StringVar(&f.dir, "dir", defaultBenchDir(), "directory of the synthetic files (existing files of the same name are reused)")
	fl.StringVar(&f.kernels, "kernels", "auto", "kernel tier of tether's engine: auto or "+strings.Join(quant.KernelTiers(), ", ")+"; TETHER_KERNELS when not given")
	fl.StringVar(&f.oracleDir, "oracle-dir", "", "directory of bench.mjs and node-llama-cpp (default: tools/oracle above the working directory)")
	fl.BoolVar(&f.noLlamaCpp, "no-llamacpp", false, "measure tether only")
	fl.StringVar(&f.markdown, "markdown", "", "also write the report as markdown to `FILE`")
	fl.StringVar(&f.chart, "chart", "", "also draw the speed ratios as a PNG bar chart to `FILE`.png")
	fl.BoolVar(&f.jsonOut, "json", false, "print the report as JSON instead of a table")
	fl.IntVar(&f.bandwidthMiB, "bandwidth-mib", bench.DefaultBandwidthBytes>>20, "size of the bandwidth test's buffer in MiB")
	_ = fl.MarkHidden("bandwidth-mib")
	cmd.AddCommand(newBenchWorkerCommand(s))
	return cmd
}

// newBenchWorkerCommand is the hidden child that measures one file with
// tether's engine: a JSON request on standard input, a JSON result on
// standard output, progress on standard error.
func newBenchWorkerCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Measure one file with tether's engine (JSON in, JSON out; used by tether bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.ServeWorker(cmd.Context(), s.in, s.out, s.err)
		},
	}
}

func defaultBenchDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "tether-bench")
	}
	return filepath.Join(dir, "tether", "bench")
}

// options checks the flags and turns them into bench options; kernelsSet
// says whether --kernels was given.
func (f benchFlags) options(kernelsSet bool) (bench.Options, error) {
	var o bench.Options
	switch {
	case f.threads < 1:
		return o, usagef("--threads must be at least 1, got %d", f.threads)
	case f.pp < 1:
		return o, usagef("--pp must be at least 1, got %d", f.pp)
	case f.tg < 1:
		return o, usagef("--tg must be at least 1, got %d", f.tg)
	case f.ttft < 0:
		return o, usagef("--ttft must not be negative, got %d", f.ttft)
	case f.repeat < 1:
		return o, usagef("--repeat must be at least 1, got %d", f.repeat)
	case f.dir == "":
		return o, usagef("--dir must not be empty")
	case f.bandwidthMiB < 1:
		return o, usagef("--bandwidth-mib must be at least 1, got %d", f.bandwidthMiB)
	}
	if f.chart != "" && !strings.EqualFold(filepath.Ext(f.chart), ".png") {
		return o, usagef("--chart writes a PNG file; name it FILE.png, not %q", f.chart)
	}
	if f.chart != "" && f.noLlamaCpp {
		return o, usagef("--chart draws tether ÷ llama.cpp ratios, which --no-llamacpp leaves out")
	}
	if len(f.shapes) == 0 || len(f.types) == 0 {
		return o, usagef("--shapes and --types must name at least one each")
	}
	for _, sh := range f.shapes {
		if !slices.Contains(synth.ShapeNames(), sh) {
			return o, usagef("unknown shape %q in --shapes (known: %s)", sh, strings.Join(synth.ShapeNames(), ", "))
		}
		if !slices.Contains(o.Shapes, sh) {
			o.Shapes = append(o.Shapes, sh)
		}
	}
	for _, name := range f.types {
		t, err := quant.ParseType(name)
		if err != nil || !slices.Contains(synth.Types(), t) {
			return o, usagef("unknown type %q in --types (known: %s)", name, typeList())
		}
		if !slices.Contains(o.Types, t) {
			o.Types = append(o.Types, t)
		}
	}
	kernels := f.kernels
	if env := os.Getenv("TETHER_KERNELS"); !kernelsSet && env != "" {
		kernels = env
	}
	tier, err := resolveTier(kernels)
	if err != nil {
		return o, err
	}
	o.Threads, o.PP, o.TG, o.TTFT, o.Repeat = f.threads, f.pp, f.tg, f.ttft, f.repeat
	o.Dir, o.Kernels, o.BandwidthBytes = f.dir, tier, int64(f.bandwidthMiB)<<20
	return o, nil
}

// resolveTier names the kernel tier a name picks on this CPU: "auto" (or
// "") is the fastest it runs.
func resolveTier(name string) (string, error) {
	usable := quant.KernelTiers()
	switch {
	case name == "" || name == "auto":
		return usable[len(usable)-1], nil
	case slices.Contains(usable, name):
		return name, nil
	}
	return "", usagef("--kernels %q is not a kernel tier this CPU runs (it runs: auto, %s)", name, strings.Join(usable, ", "))
}

// findLlamaCpp finds node and node-llama-cpp: in dir, or in tools/oracle
// above the working directory.
func findLlamaCpp(dir string) (*bench.LlamaCpp, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if dir, err = bench.FindOracle(wd); err != nil {
			return nil, err
		}
	}
	return bench.NewLlamaCpp(dir)
}

// writeBenchOutputs prints the report (table or JSON) and writes the
// markdown and chart files asked for.
func writeBenchOutputs(s streams, f benchFlags, r *bench.Report) error {
	var err error
	if f.jsonOut {
		err = r.WriteJSON(s.out)
	} else {
		err = r.WriteTable(s.out)
	}
	if err != nil {
		return err
	}
	if f.markdown != "" {
		var b bytes.Buffer
		if err := r.WriteMarkdown(&b); err != nil {
			return err
		}
		if err := os.WriteFile(f.markdown, b.Bytes(), 0o644); err != nil {
			return inputFileError{fmt.Errorf("bench: cannot write the markdown: %w", err)}
		}
		fmt.Fprintf(s.err, "tether: wrote %s\n", f.markdown)
	}
	if f.chart != "" && r.HasRatios() {
		var b bytes.Buffer
		if err := r.WriteChart(&b); err != nil {
			return fmt.Errorf("bench: chart: %w", err)
		}
		if err := os.WriteFile(f.chart, b.Bytes(), 0o644); err != nil {
			return inputFileError{fmt.Errorf("bench: cannot write the chart: %w", err)}
		}
		fmt.Fprintf(s.err, "tether: wrote %s\n", f.chart)
	} else if f.chart != "" {
		fmt.Fprintf(s.err, "tether: %s not written: no file has both engines' results\n", f.chart)
	}
	return nil
}
