package backend

import "github.com/tetherllm/tether/supervisor"

// Auto returns the profiles "auto" tries, in order: apr, then
// llama-server, each only if installed, then tether's own server, which
// is always there. This is the seed's preference (apr first) and its
// fallback (an engine that needs nothing installed).
func Auto(o Options) []Profile {
	var out []Profile
	for _, p := range []Profile{Apr(), LlamaServer()} {
		if _, err := supervisor.Find(p.Program, p.InstallHint); err == nil {
			out = append(out, p)
		}
	}
	return append(out, Tether(o.TetherProgram))
}
