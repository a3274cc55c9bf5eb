package managed

import (
	"fmt"
	"log/slog"

	"strconv"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/llm"
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
	// GPULayers, if positive, is how many layers llama-server offloads
	// to the GPU (default: all). Only Backend "llama-server" takes it.
	GPULayers int
	// TensorParallel, PipelineParallel and RayAddress serve a model over
	// many GPUs and nodes (see [backend.Launch]). Only Backend "vllm"
	// takes them.
	TensorParallel   int
	PipelineParallel int
	RayAddress       string
	// ExtraArgs are appended to the server's command line.
	ExtraArgs []string

	// ReadyBudget is how long start-up may go without progress. Default:
	// Overrides.ReadyTimeout when set, else the size-aware rule (30 s,
	// plus 1 s per 500 MiB of model above 2 GiB).
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
	// Overrides are an operator's request shaping, applied to every
	// request (see [OverridesFromEnv]). Nil: none, and requests go to the
	// server as the caller made them.
	Overrides *Overrides
}

// Stage is where a server's start-up is.
type Stage string

// The stages of start-up, in order.
const (
	// StageSpawned: the process runs; nothing answers yet.
	StageSpawned Stage = "spawned"
	// StageListening: something accepts connections but has not said it
	// is loading or ready.
	StageListening Stage = "listening"
	// StageLoading: the server says it is loading the model.
	StageLoading Stage = "loading"
	// StageReady: the server proved it is ours and answers requests.
	StageReady Stage = "ready"
	// StageFailed: start-up failed, or the process died on its own.
	StageFailed Stage = "failed"
	// StageStopped: the process was stopped on purpose.
	StageStopped Stage = "stopped"
)

// Progress is one step of start-up, for people watching.
type Progress struct {
	// Backend is the server being started.
	Backend string
	Stage   Stage
	// Loaded is the loading progress in (0, 1]; 0 means unknown.
	Loaded float64
	// Detail says more ("HTTP 404 from /health").
	Detail string
	// Elapsed is the time since the process started.
	Elapsed time.Duration
	// Err is set when this backend could not start and "auto" moves on
	// to the next one.
	Err error
}

// String renders the step for people: "loading 42%", "listening".
func (p Progress) String() string {
	out := string(p.Stage)
	if p.Stage == StageLoading && p.Loaded > 0 {
		out += fmt.Sprintf(" %d%%", int(p.Loaded*100+0.5))
	}
	if p.Detail != "" {
		out += " (" + p.Detail + ")"
	}
	return out
}

// progressOf reports a supervisor event in this package's terms.
func progressOf(backend string, ev supervisor.Event) Progress {
	return Progress{Backend: backend, Stage: Stage(ev.State.String()), Loaded: ev.Progress, Detail: ev.Detail, Elapsed: ev.Elapsed}
}

// check refuses options the chosen backend cannot honour: a setting is
// never silently ignored.
func (o Options) check() error {
	switch {
	case o.GPULayers < 0:
		return &llm.ConfigError{Setting: "gpu_layers", Value: strconv.Itoa(o.GPULayers), Reason: "must not be negative"}
	case o.TensorParallel < 0:
		return &llm.ConfigError{Setting: "tensor_parallel", Value: strconv.Itoa(o.TensorParallel), Reason: "must not be negative"}
	case o.PipelineParallel < 0:
		return &llm.ConfigError{Setting: "pipeline_parallel", Value: strconv.Itoa(o.PipelineParallel), Reason: "must not be negative"}
	case o.GPULayers > 0 && o.Backend != "llama-server":
		return &llm.ConfigError{Setting: "gpu_layers", Value: strconv.Itoa(o.GPULayers), Reason: "only the llama-server backend takes it, not " + o.Backend}
	case (o.TensorParallel > 0 || o.PipelineParallel > 0 || o.RayAddress != "") && o.Backend != "vllm":
		return &llm.ConfigError{Setting: "tensor_parallel/pipeline_parallel/ray_address", Value: o.Backend, Reason: "only the vllm backend serves a model over several GPUs or nodes"}
	}
	return nil
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
	if o.OnProgress == nil {
		o.OnProgress = func(Progress) {}
	}
	return o
}
