package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
)

func newModelCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Write synthetic GGUF models and inspect model files",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown model command %q (see tether model --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newModelSynthCommand(s), newModelInspectCommand(s))
	return cmd
}

// synthFlags are the flags of tether model synth.
type synthFlags struct {
	arch, shape, typ, template, output string
	seed                               uint64
	toolCall, tie                      bool
}

func newModelSynthCommand(s streams) *cobra.Command {
	var f synthFlags
	cmd := &cobra.Command{
		Use:   "synth -o FILE",
		Short: "Write a synthetic GGUF model with random weights",
		Long: `Write a GGUF model with random weights that llama.cpp and tether's engine
both load: a llama, qwen2 or qwen3 network of the chosen shape and weight type,
with a byte-level BPE vocabulary, special tokens and the official chat template
of its family. The same flags always give the same file.

Shapes: tiny (for tests: 256 wide, 2 layers; any architecture) and the sizes of
real models, for benchmarks: qwen2.5-0.5b, qwen3-0.6b, llama-3.2-1b. A random
model of a real model's shape runs exactly as fast as the real one.

Greedy decoding writes printable ASCII. With --tool-call, greedy decoding after
any chat prompt writes a tool call (get_weather for Paris) and ends the turn;
this needs an untied output, so real shapes are untied in that mode.`,
		Example: `  tether model synth -o tiny.gguf
  tether model synth --arch qwen3 --type q4_k --tool-call -o tool.gguf
  tether model synth --shape qwen2.5-0.5b --type q8_0 -o qwen-shape.gguf`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("model synth takes no arguments (the file is -o FILE), got %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd.Flags().Changed("tie"))
			if err != nil {
				return err
			}
			m, err := synth.New(o)
			if err != nil {
				return usageError{err}
			}
			var total uint64
			for _, t := range m.Tensors() {
				total += t.Bytes
			}
			fmt.Fprintf(s.err, "tether: writing %s (%s of weights)\n", f.output, formatBytes(total))
			if err := m.WriteFile(cmd.Context(), f.output); err != nil {
				return err
			}
			sh := o.Shape
			tie := "untied"
			if sh.Tie {
				tie = "tied"
			}
			mode := ""
			if o.ToolCall {
				mode = ", tool-call mode"
			}
			fmt.Fprintf(s.out, "wrote %s: %s %s %s, seed %d, %s output, %d tokens, chat template %s%s\n",
				f.output, sh.Name, sh.Arch, o.Type, o.Seed, tie, len(m.Vocab().Tokens), sh.Template, mode)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.arch, "arch", "", "architecture: "+strings.Join(synth.Archs(), ", ")+" (default: the shape's; qwen2 for tiny)")
	fl.StringVar(&f.shape, "shape", "tiny", "shape: "+strings.Join(synth.ShapeNames(), ", "))
	fl.StringVar(&f.typ, "type", "q8_0", "type of the weight matrices: "+typeList())
	fl.Uint64Var(&f.seed, "seed", 1, "random seed of the weights")
	fl.BoolVar(&f.toolCall, "tool-call", false, "plant a tool call that greedy decoding writes after any chat prompt")
	fl.BoolVar(&f.tie, "tie", false, "tie the output to the token embeddings (default: the shape's; real shapes tie)")
	fl.StringVar(&f.template, "template", "", "chat template family: "+strings.Join(synth.Templates(), ", ")+" (default: the shape's)")
	fl.StringVarP(&f.output, "output", "o", "", "the file to write (required)")
	return cmd
}

func typeList() string {
	var names []string
	for _, t := range synth.Types() {
		names = append(names, strings.ToLower(t.String()))
	}
	return strings.Join(names, ", ")
}

// options turns the flags into synth options; tieSet says whether --tie
// was given.
func (f synthFlags) options(tieSet bool) (synth.Options, error) {
	if f.output == "" {
		return synth.Options{}, usagef("model synth needs -o FILE")
	}
	shape, err := synth.NamedShape(f.shape, f.arch)
	if err != nil {
		return synth.Options{}, usageError{err}
	}
	typ, err := quant.ParseType(f.typ)
	if err != nil || !slices.Contains(synth.Types(), typ) {
		return synth.Options{}, usagef("unknown --type %q (known: %s)", f.typ, typeList())
	}
	if f.template != "" {
		if !slices.Contains(synth.Templates(), f.template) {
			return synth.Options{}, usagef("unknown --template %q (known: %s)", f.template, strings.Join(synth.Templates(), ", "))
		}
		shape.Template = f.template
	}
	switch {
	case tieSet && f.tie && f.toolCall:
		return synth.Options{}, usagef("--tool-call needs an untied output; drop --tie")
	case tieSet:
		shape.Tie = f.tie
	case f.toolCall:
		shape.Tie = false
	}
	return synth.Options{Shape: shape, Type: typ, Seed: f.seed, ToolCall: f.toolCall}, nil
}

// formatBytes prints a size in binary units.
func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
