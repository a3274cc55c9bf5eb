package bench

import (
	"bytes"
	"encoding/json"
	"image/png"
	"strings"
	"testing"
)

// fixedReport is a report of two files: one both engines measured, one
// llama.cpp failed on.
func fixedReport() *Report {
	return &Report{
		Env: Env{
			Commit: "v0.1-3-gabc1234", CPU: "Test CPU 9000", CPUs: 8, CPUFlags: []string{"avx2", "f16c", "fma"},
			Kernels: "avx2", GoVersion: "go1.26.8", Threads: 8, LlamaCpp: "node-llama-cpp 3.21.1", Date: "2026-01-02 03:04 UTC",
		},
		Bandwidth: Bandwidth{OneThread: 12.5, AllThreads: 40, Threads: 8, Bytes: 1 << 30},
		PP:        512, TG: 128, TTFT: 4000, Repeat: 3, Context: 4096,
		Files: []FileResult{
			{
				Shape: "qwen2.5-0.5b", Type: "q8_0", Path: "/x/qwen2.5-0.5b-q8_0.gguf", TensorBytes: 500 << 20, KVBytes: 48 << 20,
				Tether:   Summarise(Measurement{PPms: []float64{1000, 1100, 900}, TGms: []float64{3200}, TTFTms: 12000, MaxRSSBytes: 700 << 20}, 512, 128),
				LlamaCpp: Summarise(Measurement{PPms: []float64{500}, TGms: []float64{2560}, TTFTms: 6000, MaxRSSBytes: 600 << 20}, 512, 128),
			},
			{
				Shape: "llama-3.2-1b", Type: "f16", Path: "/x/llama-3.2-1b-f16.gguf", TensorBytes: 2400 << 20,
				Tether:   Summarise(Measurement{PPms: []float64{8000}, TGms: []float64{25600}, MaxRSSBytes: 2600 << 20}, 512, 128),
				LlamaCpp: Summarise(Measurement{Error: "failed to load | model"}, 512, 128),
			},
		},
	}
}

func TestSummariseAndRatios(t *testing.T) {
	r := fixedReport()
	f := r.Files[0]
	if f.Tether.PPTokS != 512 || f.Tether.TGTokS != 40 || f.LlamaCpp.PPTokS != 1024 || f.LlamaCpp.TGTokS != 50 {
		t.Errorf("speeds %+v %+v", f.Tether, f.LlamaCpp)
	}
	if pp, tg := f.Ratios(); pp != 0.5 || tg != 0.8 {
		t.Errorf("ratios %v %v", pp, tg)
	}
	if pp, tg := r.Files[1].Ratios(); pp != 0 || tg != 0 {
		t.Errorf("ratios of a failed comparison %v %v", pp, tg)
	}
	if b := r.Bound(f); b < 76.2 || b > 76.3 { // 40e9 / (500 MiB)
		t.Errorf("bound %v", b)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := fixedReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"commit:       v0.1-3-gabc1234",
		"CPU:          Test CPU 9000, 8 CPUs; flags avx2 f16c fma",
		"kernels:      avx2",
		"memory read:  12.5 GB/s on 1 thread, 40.0 GB/s on 8",
		"pp512 and tg128, median of 3; time to first token of a 4000-token prompt; context 4096",
		"pp512 tok/s", "tg128 tok/s", "ttft4000", "peak RSS",
		"qwen2.5-0.5b q8_0", "500 MiB", "76.3 tok/s", "tether", "512", "40.0", "52%", "12.00 s", "700 MiB",
		"llama.cpp", "1024", "50.0", "66%", "6.00 s", "600 MiB",
		"tether ÷ llama.cpp", "0.50×", "0.80×",
		"llama-3.2-1b f16", "2.34 GiB", "failed: failed to load | model",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "tether ÷ llama.cpp") != 1 {
		t.Errorf("want one ratio row:\n%s", out)
	}
	r := fixedReport()
	r.LlamaCppSkipped, r.Env.LlamaCpp = "node is not on PATH", ""
	for i := range r.Files {
		r.Files[i].LlamaCpp = nil
	}
	b.Reset()
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "llama.cpp comparison skipped: node is not on PATH") || strings.Contains(out, "÷") {
		t.Errorf("table without llama.cpp:\n%s", out)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := fixedReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## tether bench\n",
		"| commit | `v0.1-3-gabc1234` |",
		"| CPU | Test CPU 9000, 8 CPUs; flags avx2 f16c fma |",
		"| kernels | avx2 |",
		"| Go | go1.26.8 |",
		"| threads | 8 |",
		"| llama.cpp | node-llama-cpp 3.21.1 (CPU) |",
		"| model | weights | tg bound | engine | pp512 tok/s | tg128 tok/s | tg % of bound | ttft4000 | peak RSS | RSS − weights − KV |\n|---|---|---|---|---|---|---|---|---|---|\n",
		"| qwen2.5-0.5b q8_0 | 500 MiB | 76.3 tok/s | tether | 512 | 40.0 | 52% | 12.00 s | 700 MiB | 152 MiB |",
		"|  |  |  | **tether ÷ llama.cpp** | **0.50×** | **0.80×** |  | **0.50×** |  |  |",
		`failed: failed to load \| model`,
		"tg bound: the decode speed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteChart(t *testing.T) {
	var b bytes.Buffer
	if err := fixedReport().WriteChart(&b); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if cfg.Width < 400 || cfg.Height < 200 {
		t.Errorf("chart is %d×%d", cfg.Width, cfg.Height)
	}
	if _, err := png.Decode(bytes.NewReader(b.Bytes())); err != nil {
		t.Fatal(err)
	}
	r := fixedReport()
	r.Files = r.Files[1:]
	if r.HasRatios() || r.WriteChart(&bytes.Buffer{}) == nil {
		t.Error("a chart without any ratio")
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := fixedReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Files) != 2 || back.Files[0].Tether.TGTokS != 40 || back.Files[1].LlamaCpp.Error == "" || back.Bandwidth.AllThreads != 40 {
		t.Errorf("round trip: %+v", back)
	}
	for _, key := range []string{`"pp_tok_s": 512`, `"tg_ms": [`, `"max_rss_bytes": 734003200`, `"one_thread_gbps": 12.5`, `"kernels": "avx2"`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b.String())
		}
	}
}
