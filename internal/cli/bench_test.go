package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherllm/tether/internal/bench"
)

// mainEnv makes this test binary act as the tether binary, so that tether
// bench's re-executed workers run in tests.
const mainEnv = "TETHER_CLI_TEST_AS_TETHER"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestBenchUsageErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `bench takes no arguments, got "extra"`},
		{[]string{"--threads", "0"}, "--threads must be at least 1"},
		{[]string{"--pp", "0"}, "--pp must be at least 1"},
		{[]string{"--tg", "-1"}, "--tg must be at least 1"},
		{[]string{"--ttft", "-1"}, "--ttft must not be negative"},
		{[]string{"--repeat", "0"}, "--repeat must be at least 1"},
		{[]string{"--pp", "many"}, `invalid argument "many" for "--pp"`},
		{[]string{"--shapes", "qwen2.5-0.5b,gpt-5"}, `unknown shape "gpt-5" in --shapes`},
		{[]string{"--types", "q8_0,q9_9"}, `unknown type "q9_9" in --types`},
		{[]string{"--kernels", "avx1024"}, `--kernels "avx1024" is not a kernel tier this CPU runs`},
		{[]string{"--chart", "x.svg"}, "--chart writes a PNG file"},
		{[]string{"--chart", "x.png", "--no-llamacpp"}, "--chart draws tether ÷ llama.cpp ratios"},
		{[]string{"--dir", ""}, "--dir must not be empty"},
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		args := append([]string{"bench", "--dir", dir}, c.args...)
		code, out, errs := tether(t, ctx, args...)
		if code != ExitUsage || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errs, ExitUsage, c.want)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: want a one-line message, got %q", c.args, errs)
		}
	}
}

func TestBenchFlagDefaults(t *testing.T) {
	t.Setenv("TETHER_KERNELS", "")
	cmd := newBenchCommand(streams{})
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	var f benchFlags
	fl := cmd.Flags()
	f.shapes, _ = fl.GetStringSlice("shapes")
	f.types, _ = fl.GetStringSlice("types")
	f.threads, _ = fl.GetInt("threads")
	f.pp, _ = fl.GetInt("pp")
	f.tg, _ = fl.GetInt("tg")
	f.ttft, _ = fl.GetInt("ttft")
	f.repeat, _ = fl.GetInt("repeat")
	f.dir, _ = fl.GetString("dir")
	f.kernels, _ = fl.GetString("kernels")
	f.bandwidthMiB, _ = fl.GetInt("bandwidth-mib")
	o, err := f.options(false)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.Join(o.Shapes, ",") != "qwen2.5-0.5b,qwen3-0.6b,llama-3.2-1b":
		t.Errorf("shapes %v", o.Shapes)
	case len(o.Types) != 4 || o.Types[0].String() != "q8_0" || o.Types[2].String() != "q4_K":
		t.Errorf("types %v", o.Types)
	case o.PP != 512 || o.TG != 128 || o.TTFT != 4000 || o.Repeat != 3 || o.Threads < 1:
		t.Errorf("pp %d, tg %d, ttft %d, repeat %d, threads %d", o.PP, o.TG, o.TTFT, o.Repeat, o.Threads)
	case !strings.HasSuffix(o.Dir, filepath.Join("tether", "bench")) || o.Kernels == "" || o.Kernels == "auto":
		t.Errorf("dir %q, kernels %q", o.Dir, o.Kernels)
	case o.BandwidthBytes != bench.DefaultBandwidthBytes:
		t.Errorf("bandwidth buffer %d", o.BandwidthBytes)
	}

	// TETHER_KERNELS picks the tier unless --kernels is given.
	t.Setenv("TETHER_KERNELS", "scalar")
	if o, err := f.options(false); err != nil || o.Kernels != "scalar" {
		t.Errorf("TETHER_KERNELS=scalar: kernels %q, %v", o.Kernels, err)
	}
	if o, err := f.options(true); err != nil || o.Kernels == "scalar" {
		t.Errorf("--kernels auto over TETHER_KERNELS=scalar: kernels %q, %v", o.Kernels, err)
	}
	// Repeated names are measured once.
	f.shapes, f.types = []string{"tiny", "tiny"}, []string{"q8_0", "Q8_0"}
	if o, err := f.options(true); err != nil || len(o.Shapes) != 1 || len(o.Types) != 1 {
		t.Errorf("repeated names: %v %v, %v", o.Shapes, o.Types, err)
	}
}

func TestBenchFileProblems(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := tether(t, ctx, "bench", "--no-llamacpp", "--dir", filepath.Join(blocker, "sub"))
	if code != ExitModel || !strings.Contains(errs, "cannot create the directory") {
		t.Errorf("a directory under a file: exit %d, %q", code, errs)
	}

	// A cached file of the right name that is not GGUF.
	if err := os.WriteFile(filepath.Join(dir, "tiny-q8_0.gguf"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = tether(t, ctx, "bench", "--no-llamacpp", "--dir", dir, "--shapes", "tiny", "--types", "q8_0", "--bandwidth-mib", "1")
	if code != ExitModel || !strings.Contains(errs, "tiny-q8_0.gguf") || !strings.Contains(errs, "delete it") {
		t.Errorf("a broken cached file: exit %d, %q", code, errs)
	}
}

// TestBenchTiny runs the whole command on the tiny shape, tether only,
// with its worker re-executed from this test binary.
func TestBenchTiny(t *testing.T) {
	t.Setenv(mainEnv, "1")
	ctx := context.Background()
	dir := t.TempDir()
	md := filepath.Join(dir, "bench.md")
	code, out, errs := tether(t, ctx, "bench", "--shapes", "tiny", "--types", "q8_0", "--pp", "8", "--tg", "4", "--ttft", "0",
		"--repeat", "1", "--threads", "1", "--no-llamacpp", "--dir", dir, "--bandwidth-mib", "4", "--kernels", "scalar",
		"--markdown", md, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	var r bench.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if len(r.Files) != 1 || r.Files[0].Tether == nil || r.Files[0].Tether.TGTokS <= 0 || r.Files[0].LlamaCpp != nil ||
		r.LlamaCppSkipped != "--no-llamacpp" || r.Env.Kernels != "scalar" || r.Env.Threads != 1 {
		t.Errorf("report %+v", r)
	}
	for _, want := range []string{"memory read bandwidth", "[1/1] tiny q8_0: writing", "tether tiny-q8_0.gguf: pp8", "llama.cpp skipped: --no-llamacpp", "wrote " + md} {
		if !strings.Contains(errs, want) {
			t.Errorf("progress lacks %q:\n%s", want, errs)
		}
	}
	data, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "| tiny q8_0 |") || !strings.Contains(string(data), "| llama.cpp | skipped: --no-llamacpp |") {
		t.Errorf("markdown:\n%s", data)
	}

	// The second run reuses the file.
	code, out, errs = tether(t, ctx, "bench", "--shapes", "tiny", "--types", "q8_0", "--pp", "8", "--tg", "4", "--ttft", "0",
		"--repeat", "1", "--threads", "1", "--no-llamacpp", "--dir", dir, "--bandwidth-mib", "4")
	if code != ExitOK || !strings.Contains(errs, "reusing") || !strings.Contains(out, "llama.cpp comparison skipped") {
		t.Errorf("second run: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}
