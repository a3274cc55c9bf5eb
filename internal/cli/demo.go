package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

func newDemoCommand(s streams) *cobra.Command {
	var (
		dir  string
		arch string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show tether's main job end to end on a synthetic model",
		Long: `Demo shows what tether does, on any machine, with nothing installed:

  1. writes a small synthetic GGUF model (random weights: its words are
     gibberish by design, but it runs exactly like a real model of its
     shape, and it is scripted to call a get_weather tool);
  2. launches tether's own server on it through the managed driver, as a
     supervised child process on a private unix socket;
  3. streams an answer to a request that offers a tool: the model calls it;
  4. runs the tool and sends its result back: one tool-call round trip;
  5. shuts the server down and checks nothing is left running.

Each step says how long it took.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), s, dir, arch)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "keep the synthetic model in this directory (default: a temporary one, removed)")
	cmd.Flags().StringVar(&arch, "arch", synth.ArchQwen2, "architecture of the synthetic model: "+strings.Join(synth.Archs(), "|"))
	return cmd
}

// weatherTool is the demo's one tool.
var weatherTool = llm.ToolDef{
	Name:        "get_weather",
	Description: "Current weather for a city",
	InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","description":"City name"}},"required":["city"]}`),
}

// runWeather is the demo's tool: it answers from a table, as a real tool
// would answer from an API.
func runWeather(call llm.ToolCall) llm.ToolResult {
	var in struct{ City string }
	if err := json.Unmarshal(call.Input, &in); err != nil || in.City == "" {
		return llm.ToolResult{ToolUseID: call.ID, Name: call.Name, Content: "error: want {\"city\": …}", IsError: true}
	}
	return llm.ToolResult{ToolUseID: call.ID, Name: call.Name, Content: fmt.Sprintf("%s: 18°C, light rain", in.City)}
}

func runDemo(ctx context.Context, s streams, dir, arch string) error {
	out := s.out
	step := newStepper(out)
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tether-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return inputFileError{fmt.Errorf("--dir: %w", err)}
	}

	// 1. A synthetic model.
	step.begin("writing a synthetic model (random weights: gibberish by design, scripted to call get_weather)")
	shape, err := synth.Tiny(arch)
	if err != nil {
		return usageError{err}
	}
	shape.Tie = false // the scripted tool call needs its own output matrix
	path := filepath.Join(dir, "tether-demo-"+arch+"-q8_0.gguf")
	if _, err := synth.Write(ctx, path, synth.Options{Shape: shape, Type: quant.Q8_0, Seed: 7, ToolCall: true}); err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	step.done("%s, %s, %d layers, %.1f MiB", path, arch, shape.Layers, float64(info.Size())/(1<<20))

	// 2. tether serve, through the managed driver.
	step.begin("launching `tether serve` through the managed driver")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	d, err := managed.Launch(ctx, managed.Options{
		Model:    path,
		Backend:  "tether",
		Profiles: backend.Options{TetherProgram: self},
		Logger:   quietLogger(),
		OnProgress: func(p managed.Progress) {
			step.note("%s", p)
		},
	})
	if err != nil {
		return err
	}
	defer d.Close()
	dinfo := d.Info()
	step.done("pid %d, %s, model %s, context %d tokens (from the %s)", d.PID(), dinfo.Address, dinfo.Model, dinfo.ContextWindow, dinfo.ContextSource)

	// 3. A streamed answer that calls the tool.
	conv := []llm.Message{llm.UserMessage("What is the weather in Paris?")}
	req := llm.Request{System: "You are a helpful assistant.", Messages: conv, Tools: []llm.ToolDef{weatherTool},
		MaxTokens: 64, Temperature: llm.Ptr(0.0)}
	step.begin("streaming the answer to %q (tools: get_weather)", conv[0].Content)
	resp, err := demoStream(ctx, out, d, req)
	if err != nil {
		return err
	}
	if len(resp.ToolCalls) == 0 {
		return fmt.Errorf("demo: the model did not call the tool (stop reason %s, text %q)", resp.StopReason, resp.Text)
	}
	step.done("%s; %d prompt + %d generated tokens, %.0f tokens/s", resp.StopReason, resp.Usage.InputTokens,
		resp.Usage.OutputTokens, resp.Timings.GenerationTokensPerSecond())

	// 4. Run the tool and send the result back.
	step.begin("running the tool and sending the result back")
	req.Messages = append(req.Messages, resp.Message())
	for _, call := range resp.ToolCalls {
		result := runWeather(call)
		req.Messages = append(req.Messages, llm.ToolResultMessage(result))
		step.note("%s(%s) → %q", call.Name, call.Input, result.Content)
	}
	resp2, err := demoStream(ctx, out, d, req)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("answered %q", resp2.Text)
	if len(resp2.ToolCalls) > 0 {
		what = "called " + resp2.ToolCalls[0].Name + " again (this synthetic model is scripted to always call it)"
	}
	step.done("round trip complete: the model %s", what)

	// 5. Shut down.
	step.begin("shutting the server down (SIGTERM to its process group, SIGKILL after 2 s)")
	pid := d.PID()
	if err := d.Close(); err != nil {
		return err
	}
	if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
		return fmt.Errorf("demo: server pid %d still running after Close", pid)
	}
	step.done("pid %d has exited; nothing left running", pid)
	fmt.Fprintf(out, "done in %.2fs\n", step.total().Seconds())
	return nil
}

// demoStream streams one request, showing each event as it arrives.
func demoStream(ctx context.Context, out io.Writer, d llm.Driver, req llm.Request) (*llm.Response, error) {
	fmt.Fprint(out, "     │ ")
	for ev, err := range d.Stream(ctx, req) {
		if err != nil {
			fmt.Fprintln(out)
			return nil, err
		}
		switch ev.Kind {
		case llm.EventTextDelta:
			fmt.Fprint(out, strings.ReplaceAll(ev.Text, "\n", "\n     │ "))
		case llm.EventReasoningDelta:
			fmt.Fprint(out, strings.ReplaceAll(ev.Text, "\n", " "))
		case llm.EventToolCallStart:
			fmt.Fprintf(out, "[tool call %s: %s ", ev.ToolCall.ID, ev.ToolCall.Name)
		case llm.EventToolCallEnd:
			fmt.Fprintf(out, "%s]", ev.ToolCall.Input)
		case llm.EventDone:
			fmt.Fprintln(out)
			return ev.Response, nil
		}
	}
	return nil, &llm.ProtocolError{Reason: "stream ended without a final event"}
}

// stepper prints numbered steps with their durations.
type stepper struct {
	out   io.Writer
	n     int
	start time.Time
	began time.Time
}

func newStepper(out io.Writer) *stepper { return &stepper{out: out, start: time.Now()} }

func (s *stepper) begin(format string, args ...any) {
	s.n++
	s.began = time.Now()
	fmt.Fprintf(s.out, "%d. %s\n", s.n, fmt.Sprintf(format, args...))
}

func (s *stepper) note(format string, args ...any) {
	fmt.Fprintf(s.out, "     · %s\n", fmt.Sprintf(format, args...))
}

func (s *stepper) done(format string, args ...any) {
	fmt.Fprintf(s.out, "   ✓ %s (%.2fs)\n", fmt.Sprintf(format, args...), time.Since(s.began).Seconds())
}

func (s *stepper) total() time.Duration { return time.Since(s.start) }
