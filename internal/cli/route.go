package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

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
				o, err := remoteOptions(e, os.Getenv, os.ReadFile)
				if err != nil {
					return nil, err
				}
				if o.Timeout == 0 {
					o.Timeout = ov.HTTPTimeout
				}
				return remote.Dial(ctx, o)
			}
		}
		members = append(members, m)
	}
	return router.New(router.Options{Name: route.Name, Privacy: route.Privacy, Logger: quietLogger()}, members...)
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
// options, reading its API key from the environment variable or file
// the configuration names. The key is never part of an error message.
func remoteOptions(e config.Endpoint, getenv func(string) string, readFile func(string) ([]byte, error)) (remote.Options, error) {
	o := remote.Options{
		Endpoint: e.URL, Model: e.Model, ContextWindow: e.ContextWindow, Privacy: e.Privacy, Timeout: e.Timeout,
	}
	setting := "endpoints." + e.Name
	switch {
	case e.APIKeyEnv != "":
		o.APIKey = strings.TrimSpace(getenv(e.APIKeyEnv))
		if o.APIKey == "" {
			return o, &llm.ConfigError{Setting: setting + ".api_key_env", Value: e.APIKeyEnv, Reason: "the environment variable is not set"}
		}
	case e.APIKeyFile != "":
		data, err := readFile(e.APIKeyFile)
		if err != nil {
			reason := "cannot read the key file"
			if errors.Is(err, os.ErrNotExist) {
				reason = "no such file"
			}
			return o, &llm.ConfigError{Setting: setting + ".api_key_file", Value: e.APIKeyFile, Reason: reason}
		}
		o.APIKey = strings.TrimSpace(string(data))
		if o.APIKey == "" {
			return o, &llm.ConfigError{Setting: setting + ".api_key_file", Value: e.APIKeyFile, Reason: "the key file is empty"}
		}
	}
	return o, nil
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
