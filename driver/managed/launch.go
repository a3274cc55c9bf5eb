package managed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/internal/localserver"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
	"github.com/tetherllm/tether/supervisor"
	"github.com/tetherllm/tether/toolcall"
)

// server is one running server process and the client that talks to it.
type server struct {
	proc    *supervisor.Process
	api     *openai.Client
	info    llm.Info
	launch  backend.Launch
	cleanup func() // removes the socket and state directories
}

// stop stops the process and removes what the launch created.
func (s *server) stop(ctx context.Context) error {
	err := s.proc.Stop(ctx)
	s.api.Close()
	s.cleanup()
	return err
}

// launcher starts servers of one profile for one model.
type launcher struct {
	opts    Options
	profile backend.Profile
	model   modelFile
	budget  time.Duration
	ids     *toolcall.IDs
	timeout time.Duration // per-request HTTP timeout
}

// launch starts a server and waits until it is ready, trying fresh ports
// when the one it was given was taken under it.
func (l *launcher) launch(ctx context.Context) (*server, error) {
	var lastErr error
	for attempt := 0; attempt < l.opts.PortAttempts; attempt++ {
		s, err := l.launchOnce(ctx)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !portTaken(err) || l.profile.UnixSocket || ctx.Err() != nil {
			break
		}
		l.opts.Logger.Warn("port taken under the server; trying a fresh one",
			"backend", l.profile.Name, "attempt", attempt+1, "err", err)
	}
	return nil, lastErr
}

// portTaken reports whether a launch failed because something else had
// the port: the server said so, or a foreign server answered there.
func portTaken(err error) bool {
	var exited *llm.ServerExitedError
	if errors.As(err, &exited) && exited.Cause == llm.CausePortInUse {
		return true
	}
	return errors.Is(err, supervisor.ErrNotOurs)
}

func (l *launcher) launchOnce(ctx context.Context) (_ *server, err error) {
	p := l.profile
	var cleanups []func()
	cleanup := func() {
		for _, c := range cleanups {
			c()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()

	launch := backend.Launch{
		Model:            l.model.path,
		Host:             l.opts.Host,
		ContextSize:      l.opts.ContextWindow,
		GPU:              !l.opts.NoGPU,
		GPULayers:        l.opts.GPULayers,
		Threads:          l.opts.Threads,
		TensorParallel:   l.opts.TensorParallel,
		PipelineParallel: l.opts.PipelineParallel,
		RayAddress:       l.opts.RayAddress,
		ExtraArgs:        l.opts.ExtraArgs,
	}
	if p.Alias {
		launch.Alias = "tether-" + localserver.NewSecret()[:12]
	}
	if p.APIKey {
		launch.APIKey = localserver.NewSecret()
	}
	baseURL, apiURL := "", ""
	if p.UnixSocket {
		sock, remove, err := localserver.SocketPath(p.Name + ".sock")
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, remove)
		launch.Socket = sock
		baseURL, apiURL = "http://localhost", "unix://"+sock
	} else {
		port, err := localserver.FreePort()
		if err != nil {
			return nil, fmt.Errorf("no free port: %w", err)
		}
		launch.Port = port
		baseURL = "http://" + net.JoinHostPort(launch.Host, strconv.Itoa(port))
		apiURL = baseURL
	}
	stateDir, removeState, err := localserver.TempDir(p.Name)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, removeState)
	// If this process is killed, the watchdog removes what the launch
	// made: the socket's directory and the state directory, key included.
	remove := []string{stateDir}
	if launch.Socket != "" {
		remove = append(remove, filepath.Dir(launch.Socket))
	}
	launch.StateDir = stateDir
	if launch.APIKey != "" {
		// The state directory is private (0700), the file 0600.
		launch.APIKeyFile = filepath.Join(stateDir, "api-key")
		if err := os.WriteFile(launch.APIKeyFile, []byte(launch.APIKey+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("API key file: %w", err)
		}
	}

	if p.Prepare != nil {
		if err := p.Prepare(launch); err != nil {
			return nil, err
		}
	}
	args, err := p.Args(launch)
	if err != nil {
		return nil, err
	}
	var env []string
	if p.Env != nil {
		env = p.Env(launch)
	}
	httpClient := localserver.LoopbackClient(launch.Socket)
	probe := &supervisor.HTTPHealth{BaseURL: baseURL, Client: httpClient, HealthPath: p.HealthPath, APIKey: launch.APIKey}
	proof := &ownership{server: probe, modelsPath: p.ModelsPath}
	if p.Alias && !p.Registers {
		proof.modelID = launch.Alias
	}
	if p.APIKey {
		proof.keyCheckPath = p.KeyCheckPath
	}
	proofs := []func(context.Context) (supervisor.Status, error){proof.prove}
	model := launch.Alias
	if model == "" {
		model = l.model.stem()
	}
	api, err := l.client(apiURL, launch, model, p.ToolMode)
	if err != nil {
		return nil, err
	}
	hooks := backend.Server{Launch: launch, BaseURL: baseURL, HTTP: httpClient, API: api, Logger: l.opts.Logger}
	if p.Owns != nil {
		owner := hooks // a copy: the probe may run on while hooks changes
		proofs = append(proofs, profileProof(func(ctx context.Context) (bool, error) { return p.Owns(ctx, owner) }))
	}
	probeFn := provedProbe(probe.Probe, proofs...)
	var secrets []string
	if launch.APIKey != "" {
		secrets = append(secrets, launch.APIKey)
	}
	proc, err := supervisor.Launch(ctx, supervisor.Config{
		Backend:     p.Name,
		Program:     p.Program,
		InstallHint: p.InstallHint,
		Args:        args,
		Env:         env,
		Probe:       probeFn,
		ReadyBudget: l.budget,
		ReadyLines:  p.ReadyLines,
		ExitCauses:  p.ExitCauses,
		OnState: func(ev supervisor.Event) {
			l.opts.OnProgress(progressOf(p.Name, ev))
		},
		StopGrace: l.opts.StopGrace,
		LogFile:   l.opts.LogFile,
		Secrets:   secrets,
		Remove:    remove,
		NoCgroup:  l.opts.Overrides != nil && l.opts.Overrides.NoCgroup,
		Logger:    l.opts.Logger,
	})
	if err != nil {
		api.Close()
		return nil, err
	}
	s := &server{proc: proc, api: api, launch: launch, cleanup: cleanup}
	defer func() {
		if err != nil {
			proc.Stop(context.WithoutCancel(ctx))
			s.api.Close()
		}
	}()

	if p.AfterReady != nil {
		if err := p.AfterReady(ctx, hooks); err != nil {
			return nil, err
		}
	}
	if p.Tools != nil {
		mode, err := p.Tools(ctx, hooks)
		if err != nil {
			return nil, err
		}
		if mode != p.ToolMode {
			l.opts.Logger.Info("the server does not take this model's tools natively; tools travel as text",
				"backend", p.Name, "tools", mode)
			api, err := l.client(apiURL, launch, model, mode)
			if err != nil {
				return nil, err
			}
			s.api.Close()
			s.api, hooks.API = api, api
		}
	}
	window, source := l.contextWindow(ctx, hooks)
	s.info = llm.Info{
		Model:         model,
		ContextWindow: window,
		ContextSource: source,
		Privacy:       llm.Sovereign,
		Backend:       p.Name,
		Address:       apiURL,
	}
	return s, nil
}

// contextWindow asks the server first; then, if the command line set the
// window, that is it; else the model file's trained context; else the
// caller's figure. It never invents a number.
func (l *launcher) contextWindow(ctx context.Context, s backend.Server) (int, string) {
	if l.profile.ContextWindow != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, ok := l.profile.ContextWindow(pctx, s)
		cancel()
		if ok && n > 0 {
			return n, "server"
		}
	}
	switch {
	case l.opts.ContextWindow > 0 && l.profile.SetsContext:
		return l.opts.ContextWindow, "caller"
	case l.model.trainedContext > 0:
		return l.model.trainedContext, "gguf"
	case l.opts.ContextWindow > 0:
		return l.opts.ContextWindow, "caller"
	}
	return 0, "unknown"
}

// client makes the OpenAI client for one launch's server.
//
// The server is this machine's: on a unix socket or a loopback host (the
// default) every connection is checked to stay on loopback, so the
// driver's sovereign tier holds. A server bound to another of this
// machine's addresses (Options.Host) is reached there, unchecked: the
// user chose to expose it.
func (l *launcher) client(apiURL string, launch backend.Launch, model string, mode openai.ToolMode) (*openai.Client, error) {
	egress := httpapi.Egress{Tier: llm.Standard}
	if launch.Socket != "" || httpapi.IsLoopback(launch.Host) {
		egress.Tier = llm.Sovereign
	}
	return openai.New(openai.Options{
		Transport: httpapi.NewGuardedTransport(httpapi.TransportOptions{Socket: launch.Socket, Egress: egress}),
		BaseURL:   apiURL,
		APIKey:    launch.APIKey,
		Model:     model,
		ToolMode:  mode,
		Timeout:   l.timeout,
		Logger:    l.opts.Logger,
		IDs:       l.ids,
		Backend:   l.profile.Name,
		Privacy:   llm.Sovereign,
	})
}

// profileProof is a profile's own proof of ownership (ollama's token in
// its private state directory) as a proof for [provedProbe].
func profileProof(owns func(context.Context) (bool, error)) func(context.Context) (supervisor.Status, error) {
	return func(ctx context.Context) (supervisor.Status, error) {
		ok, err := owns(ctx)
		switch {
		case err != nil:
			return supervisor.Status{State: supervisor.StateListening, Detail: "ownership not proved yet: " + err.Error()}, nil
		case !ok:
			return supervisor.Status{}, fmt.Errorf("%w: it does not serve from our private state directory", supervisor.ErrNotOurs)
		}
		return supervisor.Status{State: supervisor.StateReady}, nil
	}
}
