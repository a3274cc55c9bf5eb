package managed

import "github.com/tetherllm/tether/backend"

func backendOptions(tether string) backend.Options { return backend.Options{TetherProgram: tether} }

func customOptions(command, health string) backend.Options {
	return backend.Options{Command: command, HealthPath: health}
}
