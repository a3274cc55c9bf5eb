package cli

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/testmodel"
)

func runServeCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, streams{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String() + errb.String()
}

func TestServeRunUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", []string{"serve", "run"}, ExitUsage, "one model file"},
		{"two models", []string{"serve", "run", "a", "b"}, ExitUsage, "one model file"},
		{"bad port", []string{"serve", "run", "m.gguf", "--port", "70000"}, ExitUsage, "--port"},
		{"bad parallel", []string{"serve", "run", "m.gguf", "--parallel", "0"}, ExitUsage, "--parallel"},
		{"bad context", []string{"serve", "run", "m.gguf", "--ctx", "-1"}, ExitUsage, "--ctx"},
		{"bad request memory", []string{"serve", "run", "m.gguf", "--max-request-memory-mb", "-2"}, ExitUsage, "--max-request-memory-mb"},
		{"bad log level", []string{"serve", "run", "m.gguf", "--log-level", "loud"}, ExitUsage, "--log-level"},
		{"unknown flag", []string{"serve", "run", "m.gguf", "--frobnicate"}, ExitUsage, "frobnicate"},
		{"unknown serve command", []string{"serve", "walk"}, ExitUsage, "unknown serve command"},
		{"missing model file", []string{"serve", "run", "/nonexistent/m.gguf"}, ExitModel, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runServeCLI(t, c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d; output %q should contain %q", code, c.code, out, c.want)
			}
		})
	}
}

func TestServeHelp(t *testing.T) {
	code, out := runServeCLI(t, "serve", "run", "--help")
	for _, flag := range []string{"--host", "--port", "--api-key", "--ctx", "--threads", "--parallel", "--alias", "--gpu", "--max-queue", "--grace", "--strict-model", "--cors-origin", "--allowed-host", "--max-request-memory-mb"} {
		if !strings.Contains(out, flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
	if code != ExitOK {
		t.Errorf("exit %d", code)
	}
}

// TestServeFlagsConfig checks that the flags reach the server's
// configuration.
func TestServeFlagsConfig(t *testing.T) {
	parse := func(t *testing.T, args ...string) serveFlags {
		t.Helper()
		var f serveFlags
		fl := pflag.NewFlagSet("serve run", pflag.ContinueOnError)
		bindServeFlags(fl, &f)
		if err := fl.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if cfg := parse(t).config("m.gguf", nil); cfg.StrictModel || cfg.Model != "m.gguf" || cfg.CORSOrigins != nil {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg := parse(t, "--strict-model", "--alias", "tiny").config("m.gguf", nil)
	if !cfg.StrictModel || cfg.Alias != "tiny" {
		t.Errorf("--strict-model --alias tiny: %+v", cfg)
	}
	cfg = parse(t, "--cors-origin", "http://localhost:3000", "--cors-origin", "*").config("m.gguf", nil)
	if len(cfg.CORSOrigins) != 2 || cfg.CORSOrigins[0] != "http://localhost:3000" || cfg.CORSOrigins[1] != "*" {
		t.Errorf("--cors-origin twice: %q", cfg.CORSOrigins)
	}
	cfg = parse(t, "--allowed-host", "tether.lan", "--host", "mybox").config("m.gguf", nil)
	if strings.Join(cfg.AllowedHosts, ",") != "tether.lan,mybox" {
		t.Errorf("--allowed-host tether.lan --host mybox: %q", cfg.AllowedHosts)
	}
	if cfg := parse(t).config("m.gguf", nil); cfg.MaxRequestMemory != 0 {
		t.Errorf("request memory by default %d, want 0 (the server's default)", cfg.MaxRequestMemory)
	}
	if cfg := parse(t, "--max-request-memory-mb", "512").config("m.gguf", nil); cfg.MaxRequestMemory != 512<<20 {
		t.Errorf("--max-request-memory-mb 512: %d", cfg.MaxRequestMemory)
	}
	if cfg := parse(t, "--max-request-memory-mb", "-1").config("m.gguf", nil); cfg.MaxRequestMemory != -1 {
		t.Errorf("--max-request-memory-mb -1: %d", cfg.MaxRequestMemory)
	}
	if cfg := parse(t, "--host", "/tmp/t.sock").config("m.gguf", nil); len(cfg.AllowedHosts) != 0 {
		t.Errorf("a socket path is no host name: %q", cfg.AllowedHosts)
	}
}

// TestServeRefusesSlotsBeyondMemory asks for 1024 slots of 2^22 tokens
// of a tiny model (256 bytes a token: 1 TiB): a KV cache larger than the machine's memory is a clear model error
// before anything is allocated, not a crash.
func TestServeRefusesSlotsBeyondMemory(t *testing.T) {
	spec := testmodel.Spec{Arch: "qwen2", Type: quant.F32, Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16, FF: 128, Context: 4096}
	path := testmodel.Write(t, spec)
	code, out := runServeCLI(t, "serve", "run", path, "--port", "0", "--parallel", "1024", "--ctx", strconv.Itoa(model.MaxCacheTokens))
	if code != ExitModel || !strings.Contains(out, "1024 slot(s)") || !strings.Contains(out, "more than this machine's") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}
