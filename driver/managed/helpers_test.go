package managed

import (
	"testing"

	"github.com/tetherllm/tether/backend"
)

func backendOptions(tether string) backend.Options { return backend.Options{TetherProgram: tether} }

func customOptions(command, health string) backend.Options {
	return backend.Options{Command: command, HealthPath: health}
}

// currentLaunch is what the running server was launched with.
func currentLaunch(t testing.TB, d *Driver) backend.Launch {
	t.Helper()
	s, ok := d.servers.current()
	if !ok {
		t.Fatal("no server is running")
	}
	return s.launch
}
