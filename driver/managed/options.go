package managed

import (
	"log/slog"
	"os"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/supervisor"
)

// Options configure [Launch]. Only Model is required; every zero value
// means the default given with the field.
type Options struct {
	// Model is the model file (GGUF, or what the backend takes).
	Model string
	// Backend is "auto" (default), "tether", "apr", "llama-server",
	// "ollama", "vllm" or "custom".
	Backend string
	// Profiles tunes the backends: tether's own binary, an explicit
	// server binary, the custom command template and health path.
	Profiles backend.Options

	// Host is the address servers bind. Default: 127.0.0.1. Anything
	// else exposes the server beyond this machine.
	Host string
	// ContextWindow, if positive, is asked of the server and is the
	// last resort when neither the server nor the model file says.
	ContextWindow int
	// NoGPU stops asking the server to offload to a GPU (the seed always
	// asks: --gpu, -ngl).
	NoGPU bool
	// Threads, if positive, sets the server's CPU threads.
	Threads int
	// ExtraArgs are appended to the server's command line.
	ExtraArgs []string

	// ReadyBudget is how long start-up may go without progress. Default:
	// the seed's size-aware rule, with the operator's override in
	// APR_SERVE_READY_TIMEOUT_S.
	ReadyBudget time.Duration
	// StopGrace is how long Close waits after SIGTERM before SIGKILL.
	// Default: 2 s.
	StopGrace time.Duration
	// LogFile, if set, receives all of the server's output.
	LogFile string
	// Restart starts a new server when the old one died between
	// requests (with backoff), instead of failing every later request. A
	// request that got nothing back because the server had died is sent
	// once more, to the new server.
	Restart bool
	// PortAttempts is how many fresh ports a launch tries when the port
	// was taken under it. Default: 3.
	PortAttempts int

	// OnProgress, if set, is told of start-up progress and of backends
	// that "auto" gave up on. It must return quickly.
	OnProgress func(Progress)
	// Logger receives the driver's own messages. Default: slog.Default().
	Logger *slog.Logger
	// Getenv reads the operator's overrides. Default: os.Getenv.
	Getenv func(string) string
}

// Progress is one step of start-up, for people watching.
type Progress struct {
	// Backend is the server being started.
	Backend string
	supervisor.Event
	// Err is set when this backend could not start and "auto" moves on
	// to the next one.
	Err error
}

func (o Options) withDefaults() Options {
	if o.Backend == "" {
		o.Backend = "auto"
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.PortAttempts <= 0 {
		o.PortAttempts = 3
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.OnProgress == nil {
		o.OnProgress = func(Progress) {}
	}
	return o
}
