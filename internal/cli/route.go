package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/driver/router"
	"github.com/tetherllm/tether/internal/config"
	"github.com/tetherllm/tether/llm"
)

// loadConfig reads --config, or else the user's configuration file if
// there is one; nil when neither exists.
func loadConfig(path string) (*config.File, error) {
	if path != "" {
		return config.Load(path)
	}
	return config.LoadDefault()
}

// openRoute makes the router of a route of cfg. Its backends are
// launched, and its endpoints dialled, only when a request gets to them.
// Endpoint requests are bounded by the overrides' timeout unless the
// endpoint sets its own.
func openRoute(s streams, cfg *config.File, name string, f runFlags, ov *managed.Overrides) (llm.Driver, error) {
	route, err := cfg.Route(name)
	if err != nil {
		return nil, usageError{err}
	}
	self, _ := os.Executable()
	members := make([]router.Member, 0, len(route.Use))
	for _, name := range route.Use {
		m := router.Member{Name: name, Price: cfg.Prices[name]}
		if b, ok := cfg.Backends[name]; ok {
			m.Privacy = llm.Sovereign
			m.Open = func(ctx context.Context) (llm.Driver, error) {
				progress := newProgressPrinter(s.err, f.quiet)
				o := managedOptions(b, self)
				o.OnProgress, o.Logger, o.LogFile, o.Overrides = progress.report, quietLogger(), f.logFile, ov
				d, err := managed.Launch(ctx, o)
				if err != nil {
					return nil, err
				}
				progress.ready(d.Info())
				return d, nil
			}
		} else {
			e := cfg.Endpoints[name]
			m.Privacy = e.Privacy
			m.Open = func(ctx context.Context) (llm.Driver, error) {
				o := remoteOptions(e, cfg.Private)
				if o.Timeout == 0 {
					o.Timeout = ov.HTTPTimeout
				}
				return dialEndpoint(ctx, e, o)
			}
		}
		members = append(members, m)
	}
	// A fallback is reported on stderr, as start-up progress is, unless
	// -q asks for none.
	logger := quietLogger()
	if f.quiet {
		logger = slog.New(slog.DiscardHandler)
	}
	return router.New(router.Options{Name: route.Name, Privacy: route.Privacy, Logger: logger}, members...)
}

// managedOptions maps a configured backend to the managed driver's
// launch options.
func managedOptions(b config.Backend, self string) managed.Options {
	return managed.Options{
		Model:   b.Model,
		Backend: b.Kind,
		Profiles: backend.Options{
			TetherProgram: self, Program: b.Program, Command: b.Command, HealthPath: b.HealthPath,
		},
		ContextWindow:    b.Ctx,
		NoGPU:            b.NoGPU,
		GPULayers:        b.GPULayers,
		Threads:          b.Threads,
		ExtraArgs:        b.ExtraArgs,
		ReadyBudget:      b.ReadyTimeout,
		TensorParallel:   b.TensorParallel,
		PipelineParallel: b.PipelineParallel,
		RayAddress:       b.RayAddress,
	}
}

// remoteOptions maps a configured endpoint to the remote driver's
// options. The driver reads the API key from the variable or file the
// endpoint names, and a private endpoint gets the private tier's hosts
// and networks, so that the addresses its host resolves to are checked
// against them on every connection.
func remoteOptions(e config.Endpoint, private config.PrivateTier) remote.Options {
	o := remote.Options{
		Endpoint: e.URL, Model: e.Model, SkipModelCheck: !e.ModelCheck, APIKeyEnv: e.APIKeyEnv, APIKeyFile: e.APIKeyFile,
		Headers: e.Headers, ContextWindow: e.ContextWindow, Privacy: e.Privacy, Timeout: e.Timeout,
		Timeouts: remote.Timeouts{Connect: e.ConnectTimeout, FirstByte: e.FirstByteTimeout, Idle: e.IdleTimeout},
		Retry:    remote.Retry{Attempts: e.RetryAttempts, MaxDelay: e.RetryMaxDelay},
		Logger:   quietLogger(),
	}
	if e.Privacy == llm.Private {
		o.AllowedHosts, o.AllowedNetworks = private.Hosts, private.Networks
	}
	return o
}

// dialEndpoint attaches to a configured endpoint through the remote
// driver of its API. A configuration error names the endpoint's key in
// the file ("endpoints.team.api_key_env").
func dialEndpoint(ctx context.Context, e config.Endpoint, o remote.Options) (*remote.Driver, error) {
	var (
		d   *remote.Driver
		err error
	)
	if e.API == config.APIAnthropic {
		d, err = remote.DialAnthropic(ctx, remote.AnthropicOptions{Options: o, Version: e.AnthropicVersion, MaxTokens: e.MaxTokens})
	} else {
		d, err = remote.Dial(ctx, o)
	}
	var ce *llm.ConfigError
	if errors.As(err, &ce) {
		key := ce.Setting
		if key == "endpoint" {
			key = "url"
		}
		return nil, &llm.ConfigError{Setting: "endpoints." + e.Name + "." + key, Value: ce.Value, Reason: ce.Reason}
	}
	return d, err
}

// describeServed is the summary of who answered, for stderr.
func describeServed(s *llm.Served) string {
	if s == nil {
		return ""
	}
	out := fmt.Sprintf(" via %s (%s)", s.Driver, s.Model)
	if s.CostUSD > 0 {
		out += fmt.Sprintf(", about $%.6f", s.CostUSD)
	}
	return out
}
