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
		l.opts.Logger.Warn("tether: port taken under the server; trying a fresh one",
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
		Model:       l.model.path,
		Host:        l.opts.Host,
		ContextSize: l.opts.ContextWindow,
		GPU:         !l.opts.NoGPU,
		Threads:     l.opts.Threads,
		ExtraArgs:   l.opts.ExtraArgs,
	}
	if p.Alias {
		launch.Alias = "tether-" + supervisor.NewSecret()[:12]
	}
	if p.APIKey {
		launch.APIKey = supervisor.NewSecret()
	}
	baseURL, apiURL := "", ""
	if p.UnixSocket {
		sock, remove, err := supervisor.SocketPath(p.Name + ".sock")
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, remove)
		launch.Socket = sock
		baseURL, apiURL = "http://localhost", "unix://"+sock
	} else {
		port, err := supervisor.FreePort()
		if err != nil {
			return nil, fmt.Errorf("tether: no free port: %w", err)
		}
		launch.Port = port
		baseURL = "http://" + net.JoinHostPort(launch.Host, strconv.Itoa(port))
		apiURL = baseURL
	}
	stateDir, removeState, err := supervisor.TempDir(p.Name)
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
			return nil, fmt.Errorf("tether: API key file: %w", err)
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
	httpClient := supervisor.LoopbackClient(launch.Socket)
	probe := &supervisor.HTTPHealth{
		BaseURL:    baseURL,
		Client:     httpClient,
		HealthPath: p.HealthPath,
		ModelsPath: p.ModelsPath,
		APIKey:     launch.APIKey,
	}
	if p.Alias {
		probe.ModelID = launch.Alias
	}
	if p.APIKey {
		probe.KeyCheckPath = p.KeyCheckPath
	}
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
		Probe:       probe.Probe,
		ReadyBudget: l.budget,
		ReadyLines:  p.ReadyLines,
		OnState: func(ev supervisor.Event) {
			l.opts.OnProgress(Progress{Backend: p.Name, Event: ev})
		},
		StopGrace: l.opts.StopGrace,
		LogFile:   l.opts.LogFile,
		Secrets:   secrets,
		Remove:    remove,
		Logger:    l.opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &server{proc: proc, launch: launch, cleanup: cleanup}
	defer func() {
		if err != nil {
			proc.Stop(context.WithoutCancel(ctx))
		}
	}()

	model := launch.Alias
	if model == "" {
		model = l.model.stem()
	}
	s.api, err = openai.New(openai.Options{
		BaseURL:  apiURL,
		APIKey:   launch.APIKey,
		Model:    model,
		ToolMode: p.ToolMode,
		Timeout:  l.timeout,
		Logger:   l.opts.Logger,
		IDs:      l.ids,
		Backend:  p.Name,
		Privacy:  llm.Sovereign,
	})
	if err != nil {
		return nil, err
	}
	hooks := backend.Server{Launch: launch, BaseURL: baseURL, HTTP: httpClient, API: s.api}
	if p.AfterReady != nil {
		if err := p.AfterReady(ctx, hooks); err != nil {
			return nil, err
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
