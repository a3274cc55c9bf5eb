package backend

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Launch is everything a profile needs to build one server's command line.
// The managed driver fills it in: a fresh port (or socket) and fresh
// secrets for every launch.
type Launch struct {
	// Model is the model file's path.
	Model string
	// Alias is the name the server must list its model under: a
	// per-launch nonce where the profile supports aliases, so that a
	// squatter on the port cannot pass for our server.
	Alias string
	// Host and Port are the TCP address to serve on (Host is loopback
	// unless the caller insisted otherwise).
	Host string
	Port int
	// Socket, if set, is a unix socket path to serve on instead of TCP;
	// only for profiles with UnixSocket.
	Socket string
	// APIKey is the per-launch secret, for profiles with APIKey.
	APIKey string
	// APIKeyFile, when APIKey is set, is a file (mode 0600) holding it and
	// a newline, for servers that read their key from a file.
	APIKeyFile string
	// ContextSize asks the server for this context window; 0 leaves the
	// server's default.
	ContextSize int
	// GPU asks the server to offload to a GPU where it can.
	GPU bool
	// GPULayers, if positive and GPU is set, is how many layers
	// llama-server offloads (-ngl); 0 offloads them all.
	GPULayers int
	// TensorParallel and PipelineParallel, if positive, split the model
	// over that many GPUs within a node and over that many pipeline
	// stages (nodes): vLLM's --tensor-parallel-size and
	// --pipeline-parallel-size.
	TensorParallel   int
	PipelineParallel int
	// RayAddress, if set, is the Ray cluster a multi-node vLLM joins
	// (head node "host:6379"): the server runs with Ray as its
	// distributed executor and RAY_ADDRESS in its environment.
	RayAddress string
	// Threads, if positive, sets the server's CPU threads where it can.
	Threads int
	// ExtraArgs are appended to the command line as they are.
	ExtraArgs []string
	// StateDir is a private directory the server may use for its own
	// files (ollama's model folder); removed when the server stops.
	StateDir string
}

// Profile describes one kind of server.
type Profile struct {
	// Name is the backend's name: "tether", "apr", "llama-server",
	// "ollama", "vllm" or "custom".
	Name string
	// Program is the binary: a name looked up on PATH, or a path.
	Program string
	// InstallHint tells the user how to install Program.
	InstallHint string

	// Args builds the command line (without the program) for l.
	Args func(l Launch) ([]string, error)
	// Env, if set, gives environment variables to add for l.
	Env func(l Launch) []string

	// APIKey says the server takes a per-launch API key (and so proves it
	// is ours by refusing requests without it at KeyCheckPath).
	APIKey bool
	// Alias says the server lists its model under Launch.Alias at
	// ModelsPath, which proves it is ours.
	Alias bool
	// Registers says the model gets its name (Launch.Alias) from
	// AfterReady rather than from the command line, so the alias cannot
	// prove ownership before the server is ready: Owns does instead, and
	// the alias is checked after AfterReady.
	Registers bool
	// UnixSocket says the server can serve on a unix socket, which needs
	// no port at all: no race, no squatter.
	UnixSocket bool
	// SetsContext says the command line passes Launch.ContextSize to the
	// server, so that size is the server's window.
	SetsContext bool

	// HealthPath answers 503 while loading and 200 when ready.
	HealthPath string
	// ModelsPath lists the served models (for the alias check).
	ModelsPath string
	// KeyCheckPath is a path the server protects with its API key.
	KeyCheckPath string
	// ExitCauses are the exit statuses whose meaning the server
	// documents ([supervisor.Config.ExitCauses]).
	ExitCauses map[int]llm.ExitCause
	// ReadyLines are phrases of the server's log line that says it is
	// ready; seeing one makes the supervisor probe at once.
	ReadyLines []string

	// ToolMode says how tools travel to this server.
	ToolMode openai.ToolMode

	// Prepare, if set, runs before the server starts, to put files it
	// needs in Launch.StateDir (ollama's ownership token).
	Prepare func(l Launch) error
	// Owns, if set, proves once the server answers its health check that
	// it is the one we launched, for servers without an API key or a
	// command-line alias. false with a nil error means it is not ours; an
	// error means it could not tell yet.
	Owns func(ctx context.Context, s Server) (bool, error)

	// AfterReady, if set, runs once the server is ready and before it is
	// used (ollama registers and loads the model file here).
	AfterReady func(ctx context.Context, s Server) error

	// Tools, if set, says after AfterReady how tools travel to this
	// launch's model, replacing ToolMode (ollama renders tools only for
	// the models whose template it knows to take them).
	Tools func(ctx context.Context, s Server) (openai.ToolMode, error)

	// ContextWindow, if set, asks the running server for its context
	// window; ok is false if the server does not say.
	ContextWindow func(ctx context.Context, s Server) (n int, ok bool)
}

// Server is a running server, as a profile's hooks see it.
type Server struct {
	Launch Launch
	// BaseURL is the server's root: "http://127.0.0.1:P", or
	// "http://localhost" when HTTP dials a unix socket.
	BaseURL string
	// HTTP is a loopback client for BaseURL (no proxy; socket-aware).
	HTTP *http.Client
	// API is the OpenAI-compatible client for the server.
	API *openai.Client
	// Logger receives the hooks' warnings; nil discards them.
	Logger *slog.Logger
}

// logger is s.Logger, or one that discards.
func (s Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Names lists the backends Lookup knows, "auto" first.
var Names = []string{"auto", "tether", "apr", "llama-server", "ollama", "vllm", "custom"}

// Options tune the profiles Lookup returns.
type Options struct {
	// TetherProgram is tether's own binary for the "tether" profile:
	// normally the running executable. Default: "tether" on PATH.
	TetherProgram string
	// Program, if set, replaces the profile's binary (an explicit path).
	Program string
	// Command is the command template of the "custom" profile.
	Command string
	// HealthPath overrides the "custom" profile's health path.
	HealthPath string
}

// Lookup returns the profile of a named backend ("auto" is resolved by
// [Auto], not here).
func Lookup(name string, o Options) (Profile, error) {
	var p Profile
	switch name {
	case "tether":
		p = Tether(o.TetherProgram)
	case "apr":
		p = Apr()
	case "llama-server":
		p = LlamaServer()
	case "ollama":
		p = Ollama()
	case "vllm":
		p = VLLM()
	case "custom":
		var err error
		if p, err = Custom(o.Command, o.HealthPath); err != nil {
			return Profile{}, err
		}
	default:
		return Profile{}, fmt.Errorf("unknown backend %q (want one of %s)", name, strings.Join(Names, ", "))
	}
	if o.Program != "" && name != "custom" {
		p.Program = o.Program
	}
	return p, nil
}

// portString is the launch's port as a command-line word.
func (l Launch) portString() string { return strconv.Itoa(l.Port) }

// withExtra appends the launch's extra arguments.
func withExtra(args []string, l Launch) []string {
	return append(slices.Clip(args), l.ExtraArgs...)
}
