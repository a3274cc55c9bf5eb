package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/serve"
)

func newServeCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a GGUF model over an OpenAI-compatible HTTP API",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown serve command %q (see tether serve --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newServeRunCommand(s))
	return cmd
}

// serveFlags are the flags of tether serve run.
type serveFlags struct {
	host      string
	port      int
	apiKey    string
	ctx       int
	threads   int
	parallel  int
	alias     string
	gpu       bool
	maxQueue  int
	grace     time.Duration
	logLevel  string
	maxBodyMB int
	// requestMemMB bounds the memory requests in flight may hold; 0 is
	// the server's default, -1 none.
	requestMemMB int
	strict       bool
	cors         []string
	hosts        []string
}

func newServeRunCommand(s streams) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "run MODEL",
		Short: "Serve MODEL (a GGUF file) until interrupted",
		Long: `Serve a GGUF model with tether's pure-Go engine over an OpenAI-compatible
HTTP API: /v1/chat/completions (streaming, tools, reasoning), /v1/completions,
/v1/models, /health, /props, /tokenize, /detokenize and /metrics.

The listener opens before the model loads: /health answers 503 "Loading model"
until it is ready. When it is, one line starting "tether serve: ready" is
printed to standard error. SIGINT or SIGTERM stops the server gracefully, at
any time, also while the model loads: requests in flight may finish within
--grace, the rest are cancelled, and the exit status is 0. A second signal,
or a shutdown still running 10 s after the grace, ends the process at once
with exit status 130.

A --host ending in ".sock" serves on that unix socket (mode 0600) instead of
TCP. The default host is loopback; binding another address without an API key
prints a warning. The key may also come from TETHER_API_KEY; with a key, every
endpoint but /health and /v1/models[/{id}] needs "Authorization: Bearer KEY".

Any model name in a request is served by MODEL unless --strict-model is given.
Browsers may call the server only from the origins of --cors-origin (CORS is off
by default). On a loopback --host, requests whose Host header is not a loopback
name, --host or an --allowed-host are refused (403), against DNS rebinding;
behind a reverse proxy that forwards its public Host, name it with --allowed-host.`,
		Example: `  tether serve run qwen2.5-0.5b-instruct-q8_0.gguf
  tether serve run model.gguf --port 0 --api-key "$KEY" --parallel 4
  tether serve run model.gguf --host /tmp/tether.sock`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("serve run takes one model file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), s, args[0], f)
		},
	}
	bindServeFlags(cmd.Flags(), &f)
	return cmd
}

// bindServeFlags defines tether serve run's flags on fl, read into f.
func bindServeFlags(fl *pflag.FlagSet, f *serveFlags) {
	fl.StringVar(&f.host, "host", "127.0.0.1", `address to listen on, or a unix socket path ending in ".sock"`)
	fl.IntVar(&f.port, "port", 8080, "TCP port; 0 lets the system choose (the address is printed)")
	fl.StringVar(&f.apiKey, "api-key", "", "require this API key (default: $TETHER_API_KEY; none)")
	fl.IntVar(&f.ctx, "ctx", 0, "context length per slot in tokens (0: the model's, at most 8192)")
	fl.IntVar(&f.threads, "threads", 0, "threads for the forward pass (0: all CPUs)")
	fl.IntVar(&f.parallel, "parallel", 1, "requests generated at once, each with its own slot and KV cache")
	fl.StringVar(&f.alias, "alias", "", "model id in the API (default: the file name without extension)")
	fl.BoolVar(&f.gpu, "gpu", false, "accepted for compatibility with apr serve; the pure-Go engine runs on the CPU")
	fl.IntVar(&f.maxQueue, "max-queue", 256, "requests that may wait for a slot; more are answered 429 (-1: none)")
	fl.DurationVar(&f.grace, "grace", 10*time.Second, "how long requests in flight may finish after SIGTERM")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error (request content is never logged)")
	fl.IntVar(&f.maxBodyMB, "max-body-mb", 32, "largest request body in MiB")
	fl.IntVar(&f.requestMemMB, "max-request-memory-mb", 0, "memory in MiB the requests in flight may hold, at 8 bytes a body byte; more wait with 503 (0: a quarter of the machine's memory; -1: no bound)")
	fl.StringArrayVar(&f.cors, "cors-origin", nil, `let browser pages from this origin call the server (repeatable; "*" for any; default: CORS off)`)
	fl.StringArrayVar(&f.hosts, "allowed-host", nil, `on a loopback --host, also answer requests whose Host header is this name (repeatable; "*" for any); others than loopback names get 403`)
	fl.BoolVar(&f.strict, "strict-model", false, "answer 404 to requests naming another model than this one (default: any name is served by it)")
}

func (f serveFlags) check() error {
	switch {
	case f.port < 0 || f.port > 65535:
		return usagef("--port %d is out of range (0-65535)", f.port)
	case f.ctx < 0:
		return usagef("--ctx %d must not be negative", f.ctx)
	case f.threads < 0:
		return usagef("--threads %d must not be negative", f.threads)
	case f.parallel < 1 || f.parallel > 1024:
		return usagef("--parallel %d must be from 1 to 1024", f.parallel)
	case f.maxQueue < -1:
		return usagef("--max-queue %d must be -1 or more", f.maxQueue)
	case f.grace <= 0:
		return usagef("--grace %s must be positive", f.grace)
	case f.maxBodyMB < 1:
		return usagef("--max-body-mb %d must be at least 1", f.maxBodyMB)
	case f.requestMemMB < -1:
		return usagef("--max-request-memory-mb %d must be -1 (no bound), 0 (the default) or more", f.requestMemMB)
	case f.host == "":
		return usagef("--host must not be empty")
	}
	return nil
}

// config is the server's configuration for model from the flags.
func (f serveFlags) config(model string, logger *slog.Logger) serve.Config {
	return serve.Config{
		Model:        model,
		Alias:        f.alias,
		StrictModel:  f.strict,
		CORSOrigins:  f.cors,
		AllowedHosts: f.allowedHosts(),
		Engine:       engine.Options{Threads: f.threads, ContextLength: f.ctx, Parallel: f.parallel},
		APIKey:       f.apiKey,
		MaxQueue:     f.maxQueue,
		MaxBodyBytes: int64(f.maxBodyMB) << 20,
		MaxRequestMemory: func() int64 {
			if f.requestMemMB == -1 {
				return -1
			}
			return int64(f.requestMemMB) << 20
		}(),
		ShutdownGrace: f.grace,
		Logger:        logger,
		Build:         "tether " + Version,
	}
}

// allowedHosts are the Host header names the server answers on a
// loopback bind: --allowed-host's, and --host itself, which may be a
// name of this machine that resolves to loopback.
func (f serveFlags) allowedHosts() []string {
	hosts := append([]string(nil), f.hosts...)
	if f.host != "" && !serve.IsSocketPath(f.host) {
		hosts = append(hosts, f.host)
	}
	return hosts
}

func logLevel(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, usagef("--log-level %q: want debug, info, warn or error", name)
	}
	return l, nil
}

func runServe(ctx context.Context, s streams, model string, f serveFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	level, err := logLevel(f.logLevel)
	if err != nil {
		return err
	}
	if _, err := os.Stat(model); err != nil {
		reason := "cannot read it"
		if errors.Is(err, fs.ErrNotExist) {
			reason = "no such file"
		}
		return &llm.ModelFileError{Path: model, Reason: reason}
	}
	if f.apiKey == "" {
		f.apiKey = os.Getenv("TETHER_API_KEY")
	}
	if f.gpu {
		fmt.Fprintln(s.err, "tether serve: --gpu ignored: the pure-Go engine runs on the CPU")
	}
	if !serve.IsLoopback(f.host) && f.apiKey == "" {
		fmt.Fprintf(s.err, "tether serve: warning: listening on %s without an API key: anyone who can reach this address can use the model (set --api-key)\n", f.host)
	}
	if f.maxQueue == 0 {
		f.maxQueue = -1 // --max-queue 0 means what it says: nobody waits
	}
	logger := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
	srv, err := serve.New(f.config(model, logger))
	if err != nil {
		return usageError{err}
	}
	start := time.Now()
	ln, err := serve.Listen(f.host, f.port)
	if err != nil {
		return err
	}
	url := listenURL(f.host, ln)
	fmt.Fprintf(s.err, "tether serve: listening on %s; loading %s\n", url, model)

	// Stopping takes the grace period, then up to a few seconds for the
	// requests cancelled after it.
	s.shutdown.set(f.grace + forceSlack)
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()

	// The load runs on its own: reading a model can block for as long as
	// the file takes to arrive (a FIFO, a network disk), and a signal must
	// still stop the server meanwhile. A load that is abandoned ends with
	// the process.
	loaded := make(chan error, 1)
	go func() {
		if holdLoad != nil {
			holdLoad()
		}
		loaded <- srv.Load()
	}()
	select {
	case err := <-loaded:
		if err != nil {
			stop()
			<-served
			return err
		}
	case err := <-served:
		if err != nil {
			return err // the listener failed
		}
		fmt.Fprintln(s.err, "tether serve: stopped before the model finished loading")
		return nil
	case <-ctx.Done():
		stop()
		<-served
		fmt.Fprintln(s.err, "tether serve: stopped before the model finished loading")
		return nil
	}
	info, _ := srv.Info()
	if ctx.Err() == nil {
		fmt.Fprintf(s.err, "tether serve: ready in %d ms: model %s (%s, context %d tokens × %d slots) listening on %s\n",
			time.Since(start).Milliseconds(), srv.ID(), info.Arch, info.ContextLength, info.Parallel, url)
	}

	err = <-served
	srv.Close()
	if err != nil {
		return err
	}
	fmt.Fprintln(s.err, "tether serve: stopped")
	return nil
}

// listenURL is the address to print for ln, opened for host: one that
// reaches the server from this machine. A wildcard host gets the loopback
// address of its own family: Go opens "0.0.0.0" as a dual-stack socket
// that reports itself as [::], yet ::1 may not exist (containers without
// IPv6) while 127.0.0.1 always reaches it.
func listenURL(host string, ln net.Listener) string {
	a, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !a.IP.IsUnspecified() {
		return serve.URL(ln)
	}
	loopback := "127.0.0.1"
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.To4() == nil {
		loopback = "::1"
	}
	return "http://" + net.JoinHostPort(loopback, strconv.Itoa(a.Port))
}
