package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/llm"
)

// runFlags are `tether run`'s options.
type runFlags struct {
	model       string
	backend     string
	serverCmd   string
	healthPath  string
	serverBin   string
	endpoint    string
	api         string
	apiKey      string
	apiKeyEnv   string
	apiKeyFile  string
	headers     []string
	privacy     string
	allowHosts  []string
	allowNets   []string
	remoteModel string
	configFile  string
	route       string
	system      string
	toolsFile   string
	messages    string
	maxTokens   int
	temperature float64
	ctx         int
	noGPU       bool
	logFile     string
	jsonOut     bool
	quiet       bool
}

func newRunCommand(s streams) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [flags] PROMPT",
		Short: "Launch (or attach to) a local model server and stream one answer",
		Long: `Run launches a local OpenAI-compatible server for --model (or attaches to
--endpoint, a running OpenAI-compatible or Messages API server), sends one
request, streams the answer to stdout, and shuts the server down — also on
Ctrl-C and SIGTERM.

The prompt is the arguments joined by spaces, or standard input when it is
"-". With --messages the prompt (if any) is added after the conversation.

Backends: auto (apr, then llama-server, then tether's own server), tether,
apr, llama-server, ollama, vllm, custom (--server-cmd "prog --port {port}
--model {model} …" with {model} {host} {port} {api_key} {alias} {ctx}).

Environment: APR_SERVE_READY_TIMEOUT_S (start-up budget, seconds),
APR_AGENT_MAX_TOKENS_CAP (default 1024), APR_AGENT_TEMPERATURE,
APR_AGENT_TOP_K, APR_AGENT_TOP_P, APR_AGENT_REPEAT_PENALTY,
APR_AGENT_REPEAT_LAST_N, APR_AGENT_SEED, APR_AGENT_HTTP_TIMEOUT_S (1800;
each request, from sending it to the end of the answer), all of them for
--endpoint as well, TETHER_NO_CGROUP=1 (on Linux, no cgroup of its own for the server).

An endpoint's API key is read from $TETHER_API_KEY, or from the variable
named by --api-key-env or the file given with --api-key-file; --api-key
puts it on the command line, where other users of the machine can see it.
Every connection to the endpoint is checked against --privacy (sovereign:
loopback and unix sockets only; private: also --allow-host and
--allow-network) before it is opened.

Routes: with --config FILE (or the user's configuration file,
$XDG_CONFIG_HOME/tether/config.toml, when neither --model nor --endpoint is
given) the request goes to a route of backends and endpoints tried in order
(--route NAME, default: the file's default_route). See
docs/tether.example.toml.

Exit codes: 0 ok, 2 bad usage (a bad configuration file too), 3 model or input file problem (also when
the server refuses the model file), 4 server did not start, 5 request
failed, 130 interrupted (a second signal exits at once).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), s, f, args, cmd.Flags().Changed("temperature"))
		},
	}
	fl := cmd.Flags()
	addDriverFlags(fl, &f)
	fl.StringVar(&f.system, "system", "", "system prompt")
	fl.StringVar(&f.toolsFile, "tools", "", "JSON file with an array of tool definitions")
	fl.StringVar(&f.messages, "messages", "", "JSON file with an array of conversation messages")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "most tokens to generate (capped by APR_AGENT_MAX_TOKENS_CAP)")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (default: the server's)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object with the whole result instead of streaming text")
	return cmd
}

// addDriverFlags registers the flags that choose and reach the model:
// a server to launch, an endpoint, or a configured route.
func addDriverFlags(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVarP(&f.model, "model", "m", "", "model file to serve (GGUF)")
	fl.StringVar(&f.backend, "backend", "auto", "server to launch: "+strings.Join(backend.Names, "|"))
	fl.StringVar(&f.serverCmd, "server-cmd", "", "command template for --backend custom")
	fl.StringVar(&f.healthPath, "health-path", "", "health path of a custom server (default /health)")
	fl.StringVar(&f.serverBin, "server-bin", "", "explicit path of the backend's server program")
	fl.StringVar(&f.endpoint, "endpoint", "", "attach to a running server at this URL instead of launching one")
	fl.StringVar(&f.api, "api", "openai", "--endpoint's API: openai (chat completions) or anthropic (Messages API)")
	fl.StringVar(&f.apiKeyEnv, "api-key-env", "", "environment variable holding --endpoint's API key (default TETHER_API_KEY, when set)")
	fl.StringVar(&f.apiKeyFile, "api-key-file", "", "file holding --endpoint's API key")
	fl.StringVar(&f.apiKey, "api-key", "", "--endpoint's API key itself; prefer --api-key-env or --api-key-file: other users see a command line")
	fl.StringArrayVar(&f.headers, "header", nil, "extra header for --endpoint, \"Name: value\" (repeatable; never logged)")
	fl.StringVar(&f.privacy, "privacy", "", "privacy tier enforced on --endpoint's connections: sovereign, private or standard (default: what its address shows)")
	fl.StringSliceVar(&f.allowHosts, "allow-host", nil, "host (name, .domain or address) the private tier allows (repeatable)")
	fl.StringSliceVar(&f.allowNets, "allow-network", nil, "network (CIDR) the private tier allows (repeatable)")
	fl.StringVar(&f.remoteModel, "remote-model", "", "model name to ask --endpoint for (default: its first)")
	fl.StringVar(&f.configFile, "config", "", "configuration file (default: tether/config.toml in the user's configuration directory)")
	fl.StringVar(&f.route, "route", "", "route of the configuration file to send the request to (default: its default_route)")
	fl.IntVar(&f.ctx, "ctx", 0, "context window to ask the server for")
	fl.BoolVar(&f.noGPU, "no-gpu", false, "do not ask the server to offload to a GPU")
	fl.StringVar(&f.logFile, "log-file", "", "append the server's output to this file")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no start-up progress on stderr")
}

// runResult is `tether run --json`'s output.
type runResult struct {
	Text          string         `json:"text"`
	Reasoning     string         `json:"reasoning"`
	ToolCalls     []llm.ToolCall `json:"tool_calls"`
	StopReason    llm.StopReason `json:"stop_reason"`
	Usage         llm.Usage      `json:"usage"`
	Timings       llm.Timings    `json:"timings"`
	Backend       string         `json:"backend"`
	Model         string         `json:"model"`
	ContextWindow int            `json:"context_window"`
	// Served is the route's driver that answered, with the answer's
	// estimated cost; absent without a route.
	Served *llm.Served `json:"served,omitempty"`
}

func runRun(ctx context.Context, s streams, f runFlags, args []string, temperatureSet bool) error {
	// The operator's overrides are checked before anything is read or
	// launched; the managed driver applies them itself, an endpoint gets
	// them here.
	overrides, err := managed.OverridesFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	req, err := buildRequest(s, f, args, temperatureSet)
	if err != nil {
		return err
	}
	d, routed, err := openDriver(ctx, s, f, &overrides)
	if err != nil {
		return err
	}
	defer d.Close()
	if f.endpoint != "" || routed {
		// A managed driver applies them itself; applying them twice
		// changes nothing.
		req = overrides.Apply(req)
	}

	if f.jsonOut {
		resp, err := d.Complete(ctx, req)
		if err != nil {
			return err
		}
		info := d.Info()
		if sv := resp.Served; sv != nil {
			info.Backend, info.Model, info.ContextWindow = sv.Backend, sv.Model, sv.ContextWindow
		}
		calls := resp.ToolCalls
		if calls == nil {
			calls = []llm.ToolCall{}
		}
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(runResult{
			Text: resp.Text, Reasoning: resp.Reasoning, ToolCalls: calls, StopReason: resp.StopReason,
			Usage: resp.Usage, Timings: resp.Timings, Backend: info.Backend, Model: info.Model,
			ContextWindow: info.ContextWindow, Served: resp.Served,
		})
	}
	return streamAnswer(ctx, s, d, req, f.quiet)
}

// streamAnswer prints the answer as it arrives: text to stdout, reasoning
// and a closing summary to stderr, tool calls as lines on stdout.
func streamAnswer(ctx context.Context, s streams, d llm.Driver, req llm.Request, quiet bool) error {
	reasoning := false
	endLine := false
	for ev, err := range d.Stream(ctx, req) {
		if err != nil {
			if endLine {
				fmt.Fprintln(s.out)
			}
			return err
		}
		switch ev.Kind {
		case llm.EventReasoningDelta:
			if !quiet {
				if !reasoning {
					fmt.Fprint(s.err, "[thinking] ")
					reasoning = true
				}
				fmt.Fprint(s.err, ev.Text)
			}
		case llm.EventTextDelta:
			if reasoning && !quiet {
				fmt.Fprintln(s.err)
				reasoning = false
			}
			fmt.Fprint(s.out, ev.Text)
			endLine = !strings.HasSuffix(ev.Text, "\n")
		case llm.EventToolCallEnd:
			if endLine {
				fmt.Fprintln(s.out)
			}
			fmt.Fprintf(s.out, "tool call %s %s %s\n", ev.ToolCall.ID, ev.ToolCall.Name, ev.ToolCall.Input)
			endLine = false
		case llm.EventDone:
			if endLine {
				fmt.Fprintln(s.out)
			}
			if !quiet {
				r := ev.Response
				fmt.Fprintf(s.err, "tether: %s; %d prompt + %d generated tokens", r.StopReason, r.Usage.InputTokens, r.Usage.OutputTokens)
				if tps := r.Timings.GenerationTokensPerSecond(); tps > 0 {
					fmt.Fprintf(s.err, ", %.1f tokens/s", tps)
				}
				fmt.Fprintln(s.err, describeServed(r.Served))
			}
		}
	}
	return nil
}

// buildRequest assembles the request from flags, files and the prompt.
func buildRequest(s streams, f runFlags, args []string, temperatureSet bool) (llm.Request, error) {
	req := llm.Request{System: f.system, MaxTokens: f.maxTokens}
	if f.maxTokens < 0 {
		return req, usagef("--max-tokens must not be negative")
	}
	if temperatureSet {
		if math.IsNaN(f.temperature) || math.IsInf(f.temperature, 0) || f.temperature < 0 || f.temperature > 100 {
			return req, usagef("--temperature %v: want a number from 0 to 100", f.temperature)
		}
		req.Temperature = llm.Ptr(f.temperature)
	}
	if f.toolsFile != "" {
		data, err := readInputFile(f.toolsFile)
		if err != nil {
			return req, inputFileError{fmt.Errorf("--tools: %w", err)}
		}
		if req.Tools, err = llm.ParseToolDefs(data); err != nil {
			return req, inputFileError{fmt.Errorf("--tools %s: %w", f.toolsFile, err)}
		}
	}
	if f.messages != "" {
		var err error
		if req.Messages, err = readMessages("--messages", f.messages); err != nil {
			return req, err
		}
	}
	prompt := strings.Join(args, " ")
	if prompt == "-" {
		data, err := readLimited(s.in, maxInputFile)
		if err != nil {
			return req, inputFileError{fmt.Errorf("reading the prompt from stdin: %w", err)}
		}
		prompt = string(data)
	}
	if strings.TrimSpace(prompt) != "" {
		req.Messages = append(req.Messages, llm.UserMessage(prompt))
	}
	if len(req.Messages) == 0 {
		return req, usagef("no prompt: give it as arguments, as - for stdin, or with --messages")
	}
	if err := req.Validate(); err != nil {
		return req, usageError{err}
	}
	return req, nil
}

// readMessages reads a conversation file given with flag.
func readMessages(flag, path string) ([]llm.Message, error) {
	data, err := readInputFile(path)
	if err != nil {
		return nil, inputFileError{fmt.Errorf("%s: %w", flag, err)}
	}
	var msgs []llm.Message
	if err := json.Unmarshal(data, &msgs); err != nil {
		return nil, inputFileError{fmt.Errorf("%s %s: want a JSON array of messages: %w", flag, path, err)}
	}
	return msgs, nil
}

// maxInputFile bounds a prompt, messages or tools file: as large as
// tether serve's largest request body by default, so that what passes
// here fits in a request.
const maxInputFile = 32 << 20

// readInputFile reads a file the user gave, refusing one larger than
// maxInputFile (a device such as /dev/zero never ends).
func readInputFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(f, maxInputFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// readLimited reads r to its end, or fails once it gives more than limit
// bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d MiB", limit>>20)
	}
	return data, nil
}

// openDriver attaches to --endpoint, launches a server for --model, or
// makes the router of a configured route (routed is true then). The
// operator's overrides ov bound every request (APR_AGENT_HTTP_TIMEOUT_S)
// and shape a managed server's requests.
func openDriver(ctx context.Context, s streams, f runFlags, ov *managed.Overrides) (d llm.Driver, routed bool, err error) {
	direct := f.model != "" || f.endpoint != ""
	if direct && (f.route != "" || f.configFile != "") {
		return nil, false, usagef("--config and --route choose a configured route; --model and --endpoint a single server: give one or the other")
	}
	if !direct {
		cfg, err := loadConfig(f.configFile)
		if err != nil {
			return nil, false, err
		}
		if cfg != nil {
			if err := serverFlagsUnused(f); err != nil {
				return nil, false, err
			}
			d, err := openRoute(s, cfg, f.route, f, ov)
			return d, err == nil, err
		}
	}
	d, err = openServer(ctx, s, f, ov)
	return d, false, err
}

// serverFlagsUnused refuses the flags of a single server with a route,
// whose backends and endpoints take their settings from the
// configuration file: a flag is never silently ignored.
func serverFlagsUnused(f runFlags) error {
	for _, c := range []struct {
		flag string
		set  bool
	}{
		{"--backend", f.backend != "auto"}, {"--server-cmd", f.serverCmd != ""}, {"--health-path", f.healthPath != ""},
		{"--server-bin", f.serverBin != ""}, {"--api-key", f.apiKey != ""}, {"--remote-model", f.remoteModel != ""},
		{"--api", f.api != "openai"}, {"--api-key-env", f.apiKeyEnv != ""}, {"--api-key-file", f.apiKeyFile != ""},
		{"--header", len(f.headers) > 0}, {"--privacy", f.privacy != ""}, {"--allow-host", len(f.allowHosts) > 0},
		{"--allow-network", len(f.allowNets) > 0},
		{"--ctx", f.ctx != 0}, {"--no-gpu", f.noGPU},
	} {
		if c.set {
			return usagef("%s sets up a single server; with a configured route, set it in the configuration file", c.flag)
		}
	}
	return nil
}

// openServer attaches to --endpoint or launches a server for --model.
func openServer(ctx context.Context, s streams, f runFlags, ov *managed.Overrides) (llm.Driver, error) {
	if f.endpoint != "" {
		if f.model != "" {
			return nil, usagef("--model and --endpoint exclude each other: launch a server, or attach to one")
		}
		o, err := endpointOptions(f, os.Getenv)
		if err != nil {
			return nil, err
		}
		o.Timeout = ov.HTTPTimeout
		if f.api == "anthropic" {
			return remote.DialAnthropic(ctx, remote.AnthropicOptions{Options: o})
		}
		return remote.Dial(ctx, o)
	}
	if err := endpointFlagsUnused(f); err != nil {
		return nil, err
	}
	if f.model == "" {
		return nil, usagef("no model: give --model FILE (or --endpoint URL to attach to a running server, or --config FILE with routes)")
	}
	if f.backend == "custom" && f.serverCmd == "" {
		return nil, usagef("--backend custom needs --server-cmd")
	}
	if f.serverCmd != "" && f.backend != "custom" {
		return nil, usagef("--server-cmd goes with --backend custom")
	}
	self, _ := os.Executable()
	progress := newProgressPrinter(s.err, f.quiet)
	d, err := managed.Launch(ctx, managed.Options{
		Model:         f.model,
		Backend:       f.backend,
		Profiles:      backend.Options{TetherProgram: self, Program: f.serverBin, Command: f.serverCmd, HealthPath: f.healthPath},
		ContextWindow: f.ctx,
		NoGPU:         f.noGPU,
		LogFile:       f.logFile,
		OnProgress:    progress.report,
		Logger:        quietLogger(),
		Overrides:     ov,
	})
	if err != nil {
		return nil, err
	}
	progress.ready(d.Info())
	return d, nil
}

// endpointOptions reads --endpoint's flags into the remote driver's
// options. Without a key flag the key is $TETHER_API_KEY, when set.
func endpointOptions(f runFlags, getenv func(string) string) (remote.Options, error) {
	o := remote.Options{
		Endpoint: f.endpoint, Model: f.remoteModel, ContextWindow: f.ctx,
		APIKey: f.apiKey, APIKeyEnv: f.apiKeyEnv, APIKeyFile: f.apiKeyFile,
		AllowedHosts: f.allowHosts, Logger: quietLogger(),
	}
	if f.api != "openai" && f.api != "anthropic" {
		return o, usagef("--api %q: want openai or anthropic", f.api)
	}
	if o.APIKey == "" && o.APIKeyEnv == "" && o.APIKeyFile == "" && getenv("TETHER_API_KEY") != "" {
		o.APIKeyEnv = "TETHER_API_KEY"
	}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return o, usagef("--header: want \"Name: value\"") // what was given may hold a secret: not shown
		}
		if o.Headers == nil {
			o.Headers = map[string]string{}
		}
		o.Headers[name] = value
	}
	if f.privacy != "" {
		tier, err := llm.ParsePrivacyTier(f.privacy)
		if err != nil {
			return o, usagef("--privacy %q: want sovereign, private or standard", f.privacy)
		}
		o.Privacy = tier
	}
	nets, err := remote.ParseNetworks(f.allowNets)
	if err != nil {
		return o, usageError{err}
	}
	o.AllowedNetworks = nets
	return o, nil
}

// endpointFlagsUnused refuses --endpoint's flags without --endpoint: a
// flag is never silently ignored.
func endpointFlagsUnused(f runFlags) error {
	for _, c := range []struct {
		flag string
		set  bool
	}{
		{"--api", f.api != "openai"}, {"--api-key", f.apiKey != ""}, {"--api-key-env", f.apiKeyEnv != ""},
		{"--api-key-file", f.apiKeyFile != ""}, {"--header", len(f.headers) > 0}, {"--privacy", f.privacy != ""},
		{"--allow-host", len(f.allowHosts) > 0}, {"--allow-network", len(f.allowNets) > 0}, {"--remote-model", f.remoteModel != ""},
	} {
		if c.set {
			return usagef("%s goes with --endpoint", c.flag)
		}
	}
	return nil
}

// progressPrinter shows server start-up on stderr, one line a state.
type progressPrinter struct {
	w     io.Writer
	quiet bool
	start time.Time
	last  string
}

func newProgressPrinter(w io.Writer, quiet bool) *progressPrinter {
	return &progressPrinter{w: w, quiet: quiet, start: time.Now()}
}

func (p *progressPrinter) report(ev managed.Progress) {
	if p.quiet {
		return
	}
	if ev.Err != nil {
		fmt.Fprintf(p.w, "tether: %s unavailable (%s); trying the next backend\n", ev.Backend, firstLine(ev.Err.Error()))
		return
	}
	if ev.Stage == managed.StageReady {
		return // ready() reports it with the address
	}
	line := fmt.Sprintf("tether: %s %s", ev.Backend, ev)
	if line != p.last {
		fmt.Fprintf(p.w, "%s (%.1fs)\n", line, ev.Elapsed.Seconds())
		p.last = line
	}
}

func (p *progressPrinter) ready(info llm.Info) {
	if p.quiet {
		return
	}
	window := "unknown context"
	if info.ContextWindow > 0 {
		window = fmt.Sprintf("context %d from %s", info.ContextWindow, info.ContextSource)
	}
	fmt.Fprintf(p.w, "tether: %s ready in %.2fs at %s (%s)\n", info.Backend, time.Since(p.start).Seconds(), info.Address, window)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
