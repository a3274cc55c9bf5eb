package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
)

// workerEnv makes this test binary act as `tether bench worker`, so that
// the tests run the worker protocol in a real child process.
const workerEnv = "TETHER_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := ServeWorker(context.Background(), os.Stdin, os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testWorker() Worker {
	return Worker{Command: []string{os.Args[0]}, Env: append(os.Environ(), workerEnv+"=1")}
}

var (
	tinyOnce sync.Once
	tinyDir  string
	tinyErr  error
)

// tinyModel writes engine/synth's tiny qwen2 model (Q8_0) once per test
// binary.
func tinyModel(t *testing.T) string {
	t.Helper()
	tinyOnce.Do(func() {
		tinyDir, tinyErr = os.MkdirTemp("", "tether-bench-test-")
		if tinyErr != nil {
			return
		}
		sh, err := synth.NamedShape("tiny", "")
		if err != nil {
			tinyErr = err
			return
		}
		_, tinyErr = synth.Write(context.Background(), filepath.Join(tinyDir, FileName("tiny", quant.Q8_0)),
			synth.Options{Shape: sh, Type: quant.Q8_0, Seed: 1})
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return filepath.Join(tinyDir, FileName("tiny", quant.Q8_0))
}

// TestTokens pins the shared token sequence to what bench.mjs's LCG gives
// in JavaScript (the values were printed by node).
func TestTokens(t *testing.T) {
	if got, want := Tokens(8, 151936), []int32{18106, 13108, 10636, 11036, 12516, 6008, 16576, 10768}; !slices.Equal(got, want) {
		t.Errorf("Tokens(8, 151936) = %v, want %v", got, want)
	}
	if got, want := Tokens(8, 1000), []int32{506, 408, 436, 836, 316, 908, 576, 668}; !slices.Equal(got, want) {
		t.Errorf("Tokens(8, 1000) = %v, want %v", got, want)
	}
	for _, tok := range Tokens(2000, 300) {
		if tok < 100 || tok >= 300 {
			t.Fatalf("token %d outside [100, 300)", tok)
		}
	}
}

// TestTokensMatchNode checks the whole sequence against bench.mjs's own
// function, run by node, where node is installed.
func TestTokensMatchNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	src, err := os.ReadFile(filepath.Join("..", "..", OracleScript))
	if err != nil {
		t.Fatal(err)
	}
	fn := string(src)
	start := strings.Index(fn, "function tokens(")
	end := strings.Index(fn[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("bench.mjs has no tokens function")
	}
	script := fn[start:start+end+3] + "console.log(JSON.stringify([tokens(4000, 151936), tokens(500, 1000)]));\n"
	out, err := exec.Command(node, "-e", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]int32
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(Tokens(4000, 151936), want[0]) || !slices.Equal(Tokens(500, 1000), want[1]) {
		t.Error("Tokens differs from bench.mjs's sequence")
	}
}

func TestWorkerProtocol(t *testing.T) {
	path := tinyModel(t)
	var progress bytes.Buffer
	req := WorkerRequest{Threads: 2, Kernels: "scalar", Job: Job{Path: path, Context: ContextFor(8, 4, 16), PP: 8, TG: 4, Repeat: 2, TTFT: 16}}
	m, err := testWorker().Run(context.Background(), req, &progress)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Error != "":
		t.Fatalf("worker failed: %s", m.Error)
	case len(m.PPms) != 2 || len(m.TGms) != 2 || m.TTFTms <= 0:
		t.Errorf("timings pp %v, tg %v, ttft %v", m.PPms, m.TGms, m.TTFTms)
	case m.MaxRSSBytes < 1<<20 || m.RSSBytes == 0:
		t.Errorf("peak RSS %d, RSS %d bytes", m.MaxRSSBytes, m.RSSBytes)
	case m.Kernels != "scalar":
		t.Errorf("kernels %q, want scalar", m.Kernels)
	}
	for _, want := range []string{"tether tiny-q8_0.gguf: pp8 ", "tg4 ", "ttft16 "} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}

	// A file problem comes back as the measurement's error, not a crash.
	req.Path = filepath.Join(t.TempDir(), "missing.gguf")
	m, err = testWorker().Run(context.Background(), req, nil)
	if err != nil || !strings.Contains(m.Error, "missing.gguf") {
		t.Errorf("missing file: %+v, %v", m, err)
	}
	// So does an unknown kernel tier.
	req.Path, req.Kernels = path, "no-such-tier"
	if m, err = testWorker().Run(context.Background(), req, nil); err != nil || !strings.Contains(m.Error, "no-such-tier") {
		t.Errorf("bad tier: %+v, %v", m, err)
	}
}

func TestWorkerBadRequest(t *testing.T) {
	var out, errw bytes.Buffer
	err := ServeWorker(context.Background(), strings.NewReader(`{"threads": 1, "bogus": 2}`), &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown field: %v", err)
	}
	// A request the worker refuses comes back as the measurement's error.
	req := WorkerRequest{Threads: 1, Job: Job{PP: 0}}
	m, err := testWorker().Run(context.Background(), req, nil)
	if err != nil || !strings.Contains(m.Error, "pp 0") {
		t.Errorf("pp 0: %+v, %v", m, err)
	}
	// A child that fails outright is an error with its last line.
	sh := Worker{Command: []string{"/bin/sh", "-c", "echo the last words >&2; exit 3"}}
	_, err = sh.Run(context.Background(), req, nil)
	if err == nil || !strings.Contains(err.Error(), "worker failed: exit status 3: the last words") {
		t.Errorf("a failing worker: %v", err)
	}
}

func TestRunTetherOnly(t *testing.T) {
	dir := filepath.Dir(tinyModel(t)) // the tiny file is reused
	var progress bytes.Buffer
	r, err := Run(context.Background(), Options{
		Shapes: []string{"tiny"}, Types: []quant.Type{quant.Q8_0}, Threads: 1, PP: 8, TG: 4, Repeat: 1,
		Dir: dir, Kernels: "scalar", BandwidthBytes: 4 << 20, Tether: testWorker(),
		LlamaCppSkipped: "test", Progress: &progress,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(r.Files) != 1 || r.Files[0].Tether == nil || r.Files[0].LlamaCpp != nil || r.Files[0].Tether.TGTokS <= 0 {
		t.Fatalf("files %+v", r.Files)
	}
	if r.Bandwidth.OneThread <= 0 || r.Bandwidth.AllThreads <= 0 || r.Files[0].TensorBytes == 0 || r.Env.Kernels != "scalar" {
		t.Errorf("bandwidth %+v, tensor bytes %d, kernels %q", r.Bandwidth, r.Files[0].TensorBytes, r.Env.Kernels)
	}
	for _, want := range []string{"memory read bandwidth", "[1/1] tiny q8_0: reusing", "[1/1] tiny q8_0: tether", "llama.cpp skipped: test"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

func TestLlamaCpp(t *testing.T) {
	dir, err := FindOracle(".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLlamaCpp(dir)
	if err != nil {
		t.Skipf("llama.cpp comparison not possible here: %v", err)
	}
	path := tinyModel(t)
	info, err := ReadFileInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	m, err := l.Run(context.Background(), 2, Job{Path: path, Context: 256, PP: 8, TG: 2, Repeat: 1, TTFT: 12, Vocab: info.Vocab}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Error != "":
		t.Fatalf("llama.cpp failed: %s", m.Error)
	case len(m.PPms) != 1 || len(m.TGms) != 1 || m.TTFTms <= 0:
		t.Errorf("timings pp %v, tg %v, ttft %v", m.PPms, m.TGms, m.TTFTms)
	case m.MaxRSSBytes < 1<<20:
		t.Errorf("peak RSS %d bytes", m.MaxRSSBytes)
	}
	if !strings.Contains(progress.String(), "llama.cpp "+path+": pp8") {
		t.Errorf("progress:\n%s", progress.String())
	}
	if v := l.Version(); v == "" {
		t.Error("no node-llama-cpp version")
	}
	// A file llama.cpp cannot load is an error in the result.
	m, err = l.Run(context.Background(), 1, Job{Path: filepath.Join(t.TempDir(), "missing.gguf"), PP: 8, TG: 4, Repeat: 1}, nil)
	if err != nil || m.Error == "" {
		t.Errorf("missing file: %+v, %v", m, err)
	}
}

func TestFindOracle(t *testing.T) {
	dir, err := FindOracle(filepath.Join("..", "..", "engine", "model"))
	if err != nil || !strings.HasSuffix(dir, filepath.Join("tools", "oracle")) {
		t.Errorf("FindOracle = %q, %v", dir, err)
	}
	if _, err := FindOracle(t.TempDir()); err == nil {
		t.Error("found an oracle in an empty directory")
	}
	if _, err := NewLlamaCpp(t.TempDir()); err == nil || !strings.Contains(err.Error(), "bench.mjs") {
		t.Errorf("NewLlamaCpp in an empty directory: %v", err)
	}
}

func TestBandwidth(t *testing.T) {
	bw, err := MeasureBandwidth(context.Background(), 4<<20, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bw.OneThread <= 0 || bw.AllThreads <= 0 || bw.Threads != 2 || bw.Bytes != 4<<20 {
		t.Errorf("%+v", bw)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MeasureBandwidth(ctx, 1<<20, 1, 1); err == nil {
		t.Error("a cancelled measurement returned no error")
	}
	if got := sumWords([]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}); got != 66 {
		t.Errorf("sumWords = %d", got)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestParseCPUInfo(t *testing.T) {
	model, flags := parseCPUInfo("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 avx avx2 fma f16c avx512f avx512_vnni avx_vnni bmi2\n\nprocessor\t: 1\nmodel name\t: Test CPU\nflags\t\t: fpu\n")
	if model != "Test CPU" || !slices.Equal(flags, []string{"avx", "avx2", "avx512_vnni", "avx512f", "avx_vnni", "f16c", "fma"}) {
		t.Errorf("parseCPUInfo = %q, %v", model, flags)
	}
}
