package backend

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Tether is tether's own server, `tether serve run`, which is always
// available: it is this program. It takes a unix socket, so its launches
// need no port.
func Tether(program string) Profile {
	if program == "" {
		program = "tether"
	}
	return Profile{
		Name:        "tether",
		Program:     program,
		InstallHint: "go install github.com/tetherllm/tether/cmd/tether@latest",
		Args: func(l Launch) ([]string, error) {
			args := []string{"serve", "run", l.Model}
			if l.Socket != "" {
				args = append(args, "--host", l.Socket)
			} else {
				args = append(args, "--host", l.Host, "--port", l.portString())
			}
			if l.Alias != "" {
				args = append(args, "--alias", l.Alias)
			}
			if l.ContextSize > 0 {
				args = append(args, "--ctx", strconv.Itoa(l.ContextSize))
			}
			if l.Threads > 0 {
				args = append(args, "--threads", strconv.Itoa(l.Threads))
			}
			return withExtra(args, l), nil
		},
		Env:          keyEnv("TETHER_API_KEY"),
		APIKey:       true,
		Alias:        true,
		UnixSocket:   true,
		SetsContext:  true,
		HealthPath:   "/health",
		ModelsPath:   "/v1/models",
		KeyCheckPath: "/props",
		ReadyLines:   []string{"tether serve: ready"},
		// tether serve exits 3 when it refuses the model file, whatever
		// words the refusal has (internal/cli's exit statuses).
		ExitCauses:    map[int]llm.ExitCause{3: llm.CauseBadModel},
		ToolMode:      openai.ToolsNative,
		ContextWindow: propsOrModels,
	}
}

// Apr is the seed's server: exactly `apr serve run MODEL --port P --host
// 127.0.0.1 --gpu` with BATCHED_PREFILL=0 (which works around apr's FP8
// batched-prefill bug for Qwen3). apr takes no API key or alias, so its
// ownership rests on the kernel-chosen port and the child staying alive;
// tools travel as text, as the seed sends them.
func Apr() Profile {
	return Profile{
		Name:        "apr",
		Program:     "apr",
		InstallHint: "cargo install apr-cli",
		Args: func(l Launch) ([]string, error) {
			args := []string{"serve", "run", l.Model, "--port", l.portString(), "--host", l.Host}
			if l.GPU {
				args = append(args, "--gpu")
			}
			return withExtra(args, l), nil
		},
		Env:        func(Launch) []string { return []string{"BATCHED_PREFILL=0"} },
		HealthPath: "/health",
		ModelsPath: "/v1/models",
		ToolMode:   openai.ToolsText,
	}
}

// LlamaServer is llama.cpp's llama-server. /health answers 503 while the
// model loads; /health and /v1/models are public, /props needs the key.
func LlamaServer() Profile {
	return Profile{
		Name:        "llama-server",
		Program:     "llama-server",
		InstallHint: "see https://github.com/ggml-org/llama.cpp (brew install llama.cpp, or a release build)",
		Args: func(l Launch) ([]string, error) {
			args := []string{"-m", l.Model, "--host", l.Host, "--port", l.portString(), "--jinja"}
			if l.ContextSize > 0 {
				args = append(args, "-c", strconv.Itoa(l.ContextSize))
			}
			if l.GPU {
				layers := 999 // more than any model has: all of them
				if l.GPULayers > 0 {
					layers = l.GPULayers
				}
				args = append(args, "-ngl", strconv.Itoa(layers))
			}
			if l.Threads > 0 {
				args = append(args, "-t", strconv.Itoa(l.Threads))
			}
			if l.Alias != "" {
				args = append(args, "--alias", l.Alias)
			}
			return withExtra(args, l), nil
		},
		Env:           keyEnv("LLAMA_API_KEY"),
		APIKey:        true,
		Alias:         true,
		SetsContext:   true,
		HealthPath:    "/health",
		ModelsPath:    "/v1/models",
		KeyCheckPath:  "/props",
		ReadyLines:    []string{"server is listening on", "all slots are idle"},
		ToolMode:      openai.ToolsNative,
		ContextWindow: propsOrModels,
	}
}

// VLLM is `vllm serve`. Its /health is public and /v1 needs the key; the
// served model name is our alias and /v1/models tells max_model_len.
// Tools travel as text: vLLM refuses `tools` unless it was started with
// a tool-call parser for the model's family. Tensor and pipeline
// parallelism and a Ray address serve one model over many GPUs and nodes;
// tether still talks only to the head's loopback address.
func VLLM() Profile {
	return Profile{
		Name:        "vllm",
		Program:     "vllm",
		InstallHint: "pip install vllm",
		Args: func(l Launch) ([]string, error) {
			args := []string{"serve", l.Model, "--host", l.Host, "--port", l.portString()}
			if l.Alias != "" {
				args = append(args, "--served-model-name", l.Alias)
			}
			if l.ContextSize > 0 {
				args = append(args, "--max-model-len", strconv.Itoa(l.ContextSize))
			}
			if l.TensorParallel > 0 {
				args = append(args, "--tensor-parallel-size", strconv.Itoa(l.TensorParallel))
			}
			if l.PipelineParallel > 0 {
				args = append(args, "--pipeline-parallel-size", strconv.Itoa(l.PipelineParallel))
			}
			if l.RayAddress != "" {
				args = append(args, "--distributed-executor-backend", "ray")
			}
			return withExtra(args, l), nil
		},
		Env: func(l Launch) []string {
			env := keyEnv("VLLM_API_KEY")(l)
			if l.RayAddress != "" {
				env = append(env, "RAY_ADDRESS="+l.RayAddress)
			}
			return env
		},
		APIKey:        true,
		Alias:         true,
		SetsContext:   true,
		HealthPath:    "/health",
		ModelsPath:    "/v1/models",
		KeyCheckPath:  "/v1/models",
		ReadyLines:    []string{"Application startup complete"},
		ToolMode:      openai.ToolsText,
		ContextWindow: modelsContext,
	}
}

// keyEnv passes the per-launch API key in the environment variable name,
// which the server reads when its --api-key flag is absent. A command line
// is readable by every local user (/proc/PID/cmdline, ps); a process's
// environment only by its owner.
func keyEnv(name string) func(Launch) []string {
	return func(l Launch) []string {
		if l.APIKey == "" {
			return nil
		}
		return []string{name + "=" + l.APIKey}
	}
}

// propsOrModels asks llama.cpp-style servers for their runtime context
// (/props n_ctx, per slot), then the model list.
func propsOrModels(ctx context.Context, s Server) (int, bool) {
	if body, err := s.API.Get(ctx, "/props"); err == nil {
		var p struct {
			NCtx     int `json:"n_ctx"`
			Defaults struct {
				NCtx int `json:"n_ctx"`
			} `json:"default_generation_settings"`
		}
		if json.Unmarshal(body, &p) == nil {
			if p.Defaults.NCtx > 0 {
				return p.Defaults.NCtx, true
			}
			if p.NCtx > 0 {
				return p.NCtx, true
			}
		}
	}
	return modelsContext(ctx, s)
}

// modelsContext reads the context length from /v1/models (vLLM's
// max_model_len), preferring our alias's entry.
func modelsContext(ctx context.Context, s Server) (int, bool) {
	l := s.Launch
	models, err := s.API.Models(ctx)
	if err != nil {
		return 0, false
	}
	for _, m := range models {
		if m.ContextLength > 0 && (l.Alias == "" || m.ID == l.Alias || len(models) == 1) {
			return m.ContextLength, true
		}
	}
	return 0, false
}
