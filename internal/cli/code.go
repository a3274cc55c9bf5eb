package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/agent"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/llm"
)

// codeFlags are `tether code`'s options: the driver's, as for run, and
// the agent's own.
type codeFlags struct {
	runFlags
	dir           string
	allowShell    bool
	session       string
	maxIterations int
	maxToolCalls  int
}

func newCodeCommand(s streams) *cobra.Command {
	var f codeFlags
	cmd := &cobra.Command{
		Use:   "code [flags] [PROMPT]",
		Short: "A coding agent: the model reads, searches and edits a workspace through tools",
		Long: `Code runs a coding agent on a workspace (--dir, default the current
directory). The model gets tools to read, write and edit files, list them and
search them (and, with --allow-shell, to run commands there); tether runs the
calls it makes, one at a time, and sends the results back until it answers.
The file tools cannot reach outside the workspace: not by "..", an absolute
path or a symbolic link. The workspace's AGENTS.md, when there is one, goes
into the system prompt as the project's instructions (--system replaces the
whole prompt).

With a PROMPT, code answers it and exits. Without one, it reads one request
per line from standard input (/reset forgets the conversation, /exit or the
end of input ends); Ctrl-C abandons the request being answered, and at the
prompt ends the session. --session FILE keeps the conversation in FILE, read at
start and written after each answered request, in the message form of
--messages.

The model is chosen and reached as for tether run: --model (a server
launched for it), --endpoint, or a configured route.

Exit codes: as for tether run, and 7 when a limit (--max-iterations,
--max-tool-calls, a call repeated without progress) stopped the agent before
it answered.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCode(cmd.Context(), s, f, args, cmd.Flags().Changed("temperature"))
		},
	}
	fl := cmd.Flags()
	addDriverFlags(fl, &f.runFlags)
	fl.StringVar(&f.dir, "dir", "", "the workspace (default: the current directory)")
	fl.BoolVar(&f.allowShell, "allow-shell", false, "give the model a shell tool; commands run in the workspace but, unlike the file tools, can reach outside it")
	fl.StringVar(&f.session, "session", "", "file that keeps the conversation between runs")
	fl.StringVar(&f.system, "system", "", "system prompt (default: one that describes the workspace and the tools)")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "most tokens each model call generates")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (default: the server's)")
	fl.IntVar(&f.maxIterations, "max-iterations", agent.DefaultMaxIterations, "most model calls for one request")
	fl.IntVar(&f.maxToolCalls, "max-tool-calls", agent.DefaultMaxToolCalls, "most tool calls for one request")
	fl.BoolVar(&f.jsonOut, "json", false, "with a PROMPT, print one JSON object with the answer, the request's messages and its usage instead of streaming text")
	return cmd
}

// codeResult is `tether code --json`'s output.
type codeResult struct {
	Text string `json:"text"`
	// Messages are the request's conversation: the query, each assistant
	// turn with its tool results, and the answer.
	Messages   []llm.Message `json:"messages"`
	Iterations int           `json:"iterations"`
	ToolCalls  int           `json:"tool_calls"`
	Usage      llm.Usage     `json:"usage"`
	Backend    string        `json:"backend"`
	Model      string        `json:"model"`
}

func runCode(ctx context.Context, s streams, f codeFlags, args []string, temperatureSet bool) error {
	overrides, err := managed.OverridesFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if f.maxIterations < 1 || f.maxToolCalls < 1 {
		return usagef("--max-iterations and --max-tool-calls must be at least 1")
	}
	if f.jsonOut && len(args) == 0 {
		return usagef("--json needs a PROMPT: the interactive session prints text")
	}
	dir := f.dir
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return err
		}
	}
	ws, err := agent.OpenWorkspace(dir)
	if err != nil {
		return usagef("--dir: %v", err)
	}
	defer ws.Close()
	history, err := readSession(f.session)
	if err != nil {
		return err
	}

	d, routed, err := openDriver(ctx, s, f.runFlags, &overrides)
	if err != nil {
		return err
	}
	defer d.Close()
	if f.endpoint != "" || routed {
		// A managed driver applies the overrides itself.
		d = overriddenDriver{Driver: d, overrides: overrides}
	}

	tools := agent.Builtin(ws, agent.ToolOptions{Shell: f.allowShell})
	system := f.system
	if system == "" {
		system = defaultCodeSystem(tools) + projectInstructions(ws.Dir())
	}
	out := &codePrinter{out: s.out, err: s.err, quiet: f.quiet}
	if f.jsonOut {
		out.out = io.Discard // stdout is the JSON object's alone
	}
	cfg := agent.Config{
		Driver:        d,
		Tools:         tools,
		System:        system,
		MaxTokens:     f.maxTokens,
		MaxIterations: f.maxIterations,
		MaxToolCalls:  f.maxToolCalls,
		OnEvent:       out.event,
		Logger:        quietLogger(),
	}
	if temperatureSet {
		cfg.Temperature = &f.temperature
	}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}

	turn := func(ctx context.Context, query string) error {
		res, err := a.Turn(ctx, history, query)
		out.endLine()
		if err != nil {
			return err
		}
		history = append(history, res.Messages...)
		if f.jsonOut {
			info := d.Info()
			enc := json.NewEncoder(s.out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(codeResult{Text: res.Text, Messages: res.Messages, Iterations: res.Iterations,
				ToolCalls: res.ToolCalls, Usage: res.Usage, Backend: info.Backend, Model: info.Model}); err != nil {
				return err
			}
		} else if !f.quiet {
			fmt.Fprintf(s.err, "tether: %d model calls, %d tool calls; %d prompt + %d generated tokens\n",
				res.Iterations, res.ToolCalls, res.Usage.InputTokens, res.Usage.OutputTokens)
		}
		return writeSession(f.session, history)
	}
	if len(args) > 0 {
		return turn(ctx, strings.Join(args, " "))
	}
	reset := func() error {
		history = nil
		return writeSession(f.session, history)
	}
	return codeREPL(ctx, s, f.quiet, turn, reset)
}

// codeREPL answers one request per line of standard input. A request that
// fails, or that SIGINT abandons, is reported and the session goes on,
// unless ctx is done.
func codeREPL(ctx context.Context, s streams, quiet bool, turn func(context.Context, string) error, reset func() error) error {
	stop := make(chan struct{})
	defer close(stop)
	lines := readLines(s.in, stop)
	for {
		if !quiet {
			fmt.Fprint(s.err, "> ")
		}
		var line string
		select {
		case <-ctx.Done():
			// A signal at the prompt: reading standard input would wait
			// for a line that is not coming.
			fmt.Fprintln(s.err)
			return ctx.Err()
		case l, ok := <-lines:
			if !ok {
				if !quiet {
					fmt.Fprintln(s.err)
				}
				return l.err
			}
			if l.err != nil {
				return l.err
			}
			line = strings.TrimSpace(l.text)
		}
		switch line {
		case "":
		case "/exit", "/quit":
			return nil
		case "/reset":
			if err := reset(); err != nil {
				printError(s.err, err)
			}
		default:
			requestCtx, end := s.requests.begin(ctx)
			err := turn(requestCtx, line)
			end()
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return err
			case errors.Is(context.Cause(requestCtx), errRequestInterrupted):
				fmt.Fprintln(s.err, "tether: request interrupted")
			default:
				printError(s.err, err)
			}
		}
	}
}

// inputLine is one line of standard input, or the error that ended it.
type inputLine struct {
	text string
	err  error
}

// readLines reads r's lines on a goroutine of its own, so that the prompt
// can wait for a line and for a signal at once. The channel closes at the
// end of input; a read error is its last value. Closing stop ends the
// goroutine once its read returns.
func readLines(r io.Reader, stop <-chan struct{}) <-chan inputLine {
	out := make(chan inputLine)
	send := func(l inputLine) bool {
		select {
		case out <- l:
			return true
		case <-stop:
			return false
		}
	}
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), maxInputFile)
		for sc.Scan() {
			if !send(inputLine{text: sc.Text()}) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			send(inputLine{err: err})
		}
	}()
	return out
}

// defaultCodeSystem tells the model where it is and what it can do.
func defaultCodeSystem(tools []agent.Tool) string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Def().Name
	}
	return "You are a coding agent working in a project's directory. Use the tools (" +
		strings.Join(names, ", ") + ") to look at the files before you answer, and to make the changes you are asked for. " +
		"Paths are relative to the project's root. Keep answers short."
}

// projectInstructionsFile is where a project keeps its instructions for
// coding agents, by the convention most of them read.
const projectInstructionsFile = "AGENTS.md"

// maxProjectInstructions bounds what of AGENTS.md goes into every request:
// a small local model's context is precious.
const maxProjectInstructions = 16 << 10

// projectInstructions returns the workspace's AGENTS.md, set apart for
// the system prompt, or "" when there is none. A longer file is cut, and
// the model is told where to read the rest.
func projectInstructions(dir string) string {
	f, err := os.Open(filepath.Join(dir, projectInstructionsFile))
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	data, err := io.ReadAll(io.LimitReader(f, maxProjectInstructions+1))
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	text := strings.ToValidUTF8(string(data[:min(len(data), maxProjectInstructions)]), "")
	if len(data) > maxProjectInstructions {
		text += "\n[… cut here; read_file " + projectInstructionsFile + " for the rest]"
	}
	return "\n\nThe project's instructions (" + projectInstructionsFile + "):\n\n" + strings.TrimSpace(text)
}

// codePrinter shows a turn as it happens: the answer on stdout, the tool
// calls, their results and the model's thinking on stderr.
type codePrinter struct {
	out, err  io.Writer
	quiet     bool
	openLine  bool // stdout's last text did not end a line
	reasoning bool // stderr is in the middle of reasoning text
}

func (p *codePrinter) event(ev agent.Event) {
	switch ev.Kind {
	case agent.EventTextDelta:
		p.endReasoning()
		fmt.Fprint(p.out, ev.Text)
		p.openLine = !strings.HasSuffix(ev.Text, "\n")
	case agent.EventReasoningDelta:
		if p.quiet {
			return
		}
		if !p.reasoning {
			fmt.Fprint(p.err, "[thinking] ")
			p.reasoning = true
		}
		fmt.Fprint(p.err, ev.Text)
	case agent.EventToolStart:
		p.endLine()
		p.endReasoning()
		if !p.quiet {
			fmt.Fprintf(p.err, "tether: %s %s\n", ev.Call.Name, oneLine(string(ev.Call.Input), 200))
		}
	case agent.EventToolEnd:
		if !p.quiet {
			mark := "→"
			if ev.Result.IsError {
				mark = "→ error:"
			}
			fmt.Fprintf(p.err, "  %s %s\n", mark, oneLine(ev.Result.Content, 200))
		}
	case agent.EventRetry:
		p.endLine()
		if !p.quiet {
			fmt.Fprintf(p.err, "tether: %s; trying again in %s\n", firstLine(ev.Text), ev.Delay)
		}
	}
}

// endLine ends stdout's line, so that what comes next starts on its own.
func (p *codePrinter) endLine() {
	if p.openLine {
		fmt.Fprintln(p.out)
		p.openLine = false
	}
}

func (p *codePrinter) endReasoning() {
	if p.reasoning {
		fmt.Fprintln(p.err)
		p.reasoning = false
	}
}

// oneLine shortens s to its first line and at most n bytes, for a
// progress line.
func oneLine(s string, n int) string {
	first, rest, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(first) > n {
		first = first[:n]
		rest = "…"
	}
	if rest != "" {
		first += " …"
	}
	return first
}

// overriddenDriver applies the operator's overrides to every request, as
// the managed driver does for its own server.
type overriddenDriver struct {
	llm.Driver
	overrides managed.Overrides
}

func (d overriddenDriver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return d.Driver.Complete(ctx, d.overrides.Apply(req))
}

func (d overriddenDriver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return d.Driver.Stream(ctx, d.overrides.Apply(req))
}

// readSession reads a session file's conversation; a file that does not
// exist yet is an empty one.
func readSession(path string) ([]llm.Message, error) {
	if path == "" {
		return nil, nil
	}
	history, err := readMessages("--session", path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return history, err
}

// writeSession replaces the session file with the conversation, through a
// temporary file, so that a crash leaves the old one whole.
func writeSession(path string, history []llm.Message) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(history, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--session: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("--session: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--session: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--session: %w", err)
	}
	return nil
}
