package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

// ggufSpec is what writeGGUF puts in a file, with hooks to break it.
type ggufSpec struct {
	cfg  Config
	w    Weights
	typ  quant.Type // of the 2-D matrices
	keys map[string]any
	// skip leaves tensors out; replace swaps a tensor's type, shape and
	// data.
	skip    map[string]bool
	replace map[string]func() (quant.Type, []uint64, []byte)
	// extra tensors are written after the model's.
	extra []extraTensor
}

type extraTensor struct {
	name  string
	typ   quant.Type
	shape []uint64
	data  []byte
}

func (v variant) spec(typ quant.Type) ggufSpec {
	cfg, w := v.build(1)
	a := string(cfg.Arch)
	keys := map[string]any{
		"general.architecture":                  a,
		a + ".context_length":                   uint32(cfg.ContextLength),
		a + ".embedding_length":                 uint32(cfg.Embd),
		a + ".block_count":                      uint32(cfg.Layers),
		a + ".feed_forward_length":              uint32(cfg.FF),
		a + ".attention.head_count":             uint32(cfg.Heads),
		a + ".attention.head_count_kv":          uint32(cfg.KVHeads),
		a + ".attention.layer_norm_rms_epsilon": cfg.RMSEps,
		a + ".attention.key_length":             uint32(cfg.HeadDimK),
		a + ".attention.value_length":           uint32(cfg.HeadDimV),
		a + ".rope.dimension_count":             uint32(cfg.Rope.Dims),
		a + ".rope.freq_base":                   cfg.Rope.FreqBase,
	}
	switch cfg.Rope.Scaling {
	case RopeScalingLinear:
		keys[a+".rope.scaling.type"] = "linear"
		keys[a+".rope.scaling.factor"] = 1 / cfg.Rope.FreqScale
	case RopeScalingYarn:
		keys[a+".rope.scaling.type"] = "yarn"
		keys[a+".rope.scaling.factor"] = 1 / cfg.Rope.FreqScale
		keys[a+".rope.scaling.original_context_length"] = uint32(cfg.Rope.OrigContext)
	}
	return ggufSpec{cfg: cfg, w: w, typ: typ, keys: keys, skip: map[string]bool{}, replace: map[string]func() (quant.Type, []uint64, []byte){}}
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		bits := math.Float32bits(x)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
	}
	return b
}

// write writes the spec to a file in t's temporary directory.
func (s ggufSpec) write(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := s.writer(t).WriteFile(path); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	return path
}

// writer lays the spec out as a GGUF writer.
func (s ggufSpec) writer(t testing.TB) *gguf.Writer {
	t.Helper()
	wr := gguf.NewWriter()
	for k, v := range s.keys {
		if err := wr.Set(k, v); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	add := func(name string, typ quant.Type, shape []uint64, data []byte) {
		if s.skip[name] {
			return
		}
		if r := s.replace[name]; r != nil {
			typ, shape, data = r()
		}
		if err := wr.AddTensor(name, typ, shape, data); err != nil {
			t.Fatalf("AddTensor(%s): %v", name, err)
		}
	}
	mat := func(name string, m Linear) {
		d := m.(*dense)
		data := make([]byte, mustRowBytes(t, s.typ, d.in)*d.out)
		if err := quant.Quantize(s.typ, data, d.w); err != nil {
			t.Fatalf("quantise %s: %v", name, err)
		}
		add(name, s.typ, []uint64{uint64(d.in), uint64(d.out)}, data)
	}
	vec := func(name string, v []float32) {
		if v != nil {
			add(name, quant.F32, []uint64{uint64(len(v))}, f32Bytes(v))
		}
	}
	mat("token_embd.weight", s.w.TokenEmbd.(*dense))
	vec("output_norm.weight", s.w.OutputNorm)
	if s.w.Output.(*dense) != s.w.TokenEmbd.(*dense) {
		mat("output.weight", s.w.Output)
	}
	vec("rope_freqs.weight", s.cfg.Rope.Factors)
	for i, l := range s.w.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		vec(p+"attn_norm.weight", l.AttnNorm)
		mat(p+"attn_q.weight", l.Q)
		mat(p+"attn_k.weight", l.K)
		mat(p+"attn_v.weight", l.V)
		vec(p+"attn_q.bias", l.QBias)
		vec(p+"attn_k.bias", l.KBias)
		vec(p+"attn_v.bias", l.VBias)
		vec(p+"attn_q_norm.weight", l.QNorm)
		vec(p+"attn_k_norm.weight", l.KNorm)
		mat(p+"attn_output.weight", l.O)
		vec(p+"attn_output.bias", l.OBias)
		vec(p+"ffn_norm.weight", l.FFNNorm)
		mat(p+"ffn_gate.weight", l.Gate)
		mat(p+"ffn_up.weight", l.Up)
		mat(p+"ffn_down.weight", l.Down)
	}
	for _, e := range s.extra {
		add(e.name, e.typ, e.shape, e.data)
	}
	return wr
}

func mustRowBytes(t testing.TB, typ quant.Type, n int) int {
	t.Helper()
	b, err := typ.RowBytes(n)
	if err != nil {
		t.Fatalf("RowBytes(%s, %d): %v", typ, n, err)
	}
	return b
}

func loadFile(t *testing.T, path string) (*Model, error) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("gguf.Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := Load(f, Options{Threads: 2})
	if err == nil {
		t.Cleanup(m.Close)
	}
	return m, err
}

// TestLoadMatchesInMemory loads every variant from an F32 file and
// checks the loaded model computes what the in-memory one does.
func TestLoadMatchesInMemory(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			spec := v.spec(quant.F32)
			loaded, err := loadFile(t, spec.write(t))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := fmt.Sprint(loaded.Config()), fmt.Sprint(spec.cfg); got != want {
				t.Errorf("config:\n got %s\nwant %s", got, want)
			}
			mem := newModel(t, v)
			tokens := randomTokens(11, 10, v.vocab)
			// An F32 cache: with F16, last-bit differences in the sums can
			// flip roundings to half precision and blur the comparison.
			got := evalAll(t, loaded, newWorkspace(t, loaded, 16), newCache(t, loaded, 16, KVF32), tokens)
			want := evalAll(t, mem, newWorkspace(t, mem, 16), newCache(t, mem, 16, KVF32), tokens)
			var diff, scale float64
			for i := range got {
				diff = max(diff, math.Abs(float64(got[i]-want[i])))
				scale = max(scale, math.Abs(float64(want[i])))
			}
			// The two differ only in the order float32 products are summed.
			if diff > 2e-5*scale {
				t.Errorf("loaded vs in-memory logits differ by %.3g (scale %.3g)", diff, scale)
			}
		})
	}
}

// TestLoadQuantised runs a Q8_0 and an F16 file: the weights stay
// quantised in the mapping and the logits stay near the F32 model's.
func TestLoadQuantised(t *testing.T) {
	v := variants()[5]
	mem := newModel(t, v)
	tokens := randomTokens(12, 10, v.vocab)
	want := evalAll(t, mem, newWorkspace(t, mem, 16), newCache(t, mem, 16, KVF16), tokens)
	for _, tc := range []struct {
		typ quant.Type
		tol float64 // relative to the largest logit
	}{{quant.F16, 2e-3}, {quant.Q8_0, 3e-2}, {quant.Q4_0, 0.3}} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			m, err := loadFile(t, v.spec(tc.typ).write(t))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if q := m.w.Layers[0].Q.(*quant.Matrix); q.Type() != tc.typ {
				t.Errorf("attn_q bound as %s, want %s", q.Type(), tc.typ)
			}
			got := evalAll(t, m, newWorkspace(t, m, 16), newCache(t, m, 16, KVF16), tokens)
			var diff, scale float64
			for i := range got {
				diff = max(diff, math.Abs(float64(got[i]-want[i])))
				scale = max(scale, math.Abs(float64(want[i])))
			}
			if diff > tc.tol*scale || diff == 0 {
				t.Errorf("%s logits differ from F32 by %.3g (scale %.3g), want (0, %.3g]", tc.typ, diff, scale, tc.tol*scale)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	qwen3 := variants()[6]
	tests := []struct {
		name   string
		v      variant
		breaks func(*ggufSpec)
		want   string
	}{
		{"unsupported architecture", qwen3, func(s *ggufSpec) { s.keys["general.architecture"] = "mamba" }, `unsupported architecture "mamba"`},
		{"missing required key", qwen3, func(s *ggufSpec) { delete(s.keys, "qwen3.block_count") }, "missing metadata key qwen3.block_count"},
		{"missing epsilon", qwen3, func(s *ggufSpec) { delete(s.keys, "qwen3.attention.layer_norm_rms_epsilon") }, "layer_norm_rms_epsilon"},
		{"wrong key type", qwen3, func(s *ggufSpec) { s.keys["qwen3.embedding_length"] = "64" }, "qwen3.embedding_length"},
		{"wrong float key type", qwen3, func(s *ggufSpec) { s.keys["qwen3.rope.freq_base"] = "1e6" }, "qwen3.rope.freq_base has type string"},
		{"unknown rope scaling", qwen3, func(s *ggufSpec) { s.keys["qwen3.rope.scaling.type"] = "longrope" }, `unsupported rope scaling "longrope"`},
		{"missing tensor", qwen3, func(s *ggufSpec) { s.skip["blk.1.ffn_up.weight"] = true }, "tensor blk.1.ffn_up.weight is missing"},
		{"missing qwen3 norm", qwen3, func(s *ggufSpec) { s.skip["blk.0.attn_k_norm.weight"] = true }, "tensor blk.0.attn_k_norm.weight is missing"},
		{"missing embeddings", qwen3, func(s *ggufSpec) { s.skip["token_embd.weight"] = true }, "token_embd.weight is missing"},
		{"wrong shape", qwen3, func(s *ggufSpec) {
			s.replace["blk.0.attn_q.weight"] = func() (quant.Type, []uint64, []byte) {
				return quant.F32, []uint64{64, 64}, make([]byte, 64*64*4)
			}
		}, "tensor blk.0.attn_q.weight has shape [64 64], want [64 128]"},
		{"wrong norm shape", qwen3, func(s *ggufSpec) {
			s.replace["output_norm.weight"] = func() (quant.Type, []uint64, []byte) { return quant.F32, []uint64{32}, make([]byte, 32*4) }
		}, "tensor output_norm.weight has shape [32], want [64]"},
		{"unsupported tensor type", qwen3, func(s *ggufSpec) {
			s.replace["blk.1.ffn_gate.weight"] = func() (quant.Type, []uint64, []byte) {
				n, _ := quant.IQ4_NL.RowBytes(64)
				return quant.IQ4_NL, []uint64{64, 128}, make([]byte, n*128)
			}
		}, "tensor blk.1.ffn_gate.weight has type iq4_nl, which is not supported"},
		{"head count not dividing", qwen3, func(s *ggufSpec) { s.keys["qwen3.attention.head_count_kv"] = uint32(3) }, "multiple"},
		{"rope dims above head size", variants()[0], func(s *ggufSpec) { s.keys["llama.rope.dimension_count"] = uint32(8) }, "rope.dimension_count 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.v.spec(quant.F32)
			tt.breaks(&spec)
			path := spec.write(t)
			_, err := loadFile(t, path)
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) || fe.Path != path {
				t.Errorf("error %v is not a *llm.ModelFileError naming %s", err, path)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line mentioning %q", msg, tt.want)
			}
		})
	}
}

// TestLoadDefaults checks llama.cpp's defaults for the optional keys.
func TestLoadDefaults(t *testing.T) {
	spec := variants()[0].spec(quant.F32)
	for _, k := range []string{"llama.attention.head_count_kv", "llama.attention.key_length", "llama.attention.value_length", "llama.rope.dimension_count", "llama.rope.freq_base"} {
		delete(spec.keys, k)
	}
	spec.w.Layers = nil // not needed: only the config is read
	f := spec
	f.skip = map[string]bool{}
	path := writeConfigOnly(t, f)
	g, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cfg, err := ReadConfig(g)
	if err != nil {
		t.Fatalf("ReadConfig: %v", err)
	}
	if cfg.KVHeads != cfg.Heads || cfg.HeadDimK != 16 || cfg.HeadDimV != 16 || cfg.Rope.Dims != 16 || cfg.Rope.FreqBase != 10000 {
		t.Errorf("defaults: kv heads %d (heads %d), head dims %d/%d, rope dims %d, base %v",
			cfg.KVHeads, cfg.Heads, cfg.HeadDimK, cfg.HeadDimV, cfg.Rope.Dims, cfg.Rope.FreqBase)
	}
	if cfg.Rope.Scaling != RopeScalingLinear || cfg.Rope.FreqScale != 1 || cfg.Rope.Type != RopeNormal {
		t.Errorf("rope: scaling %q scale %v type %v", cfg.Rope.Scaling, cfg.Rope.FreqScale, cfg.Rope.Type)
	}
	if cfg.AttnScale != float32(1/math.Sqrt(16)) {
		t.Errorf("attention scale %v", cfg.AttnScale)
	}
}

// writeConfigOnly writes the keys and just token_embd.weight.
func writeConfigOnly(t *testing.T, s ggufSpec) string {
	t.Helper()
	wr := gguf.NewWriter()
	for k, v := range s.keys {
		if err := wr.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	d := s.w.TokenEmbd.(*dense)
	if err := wr.AddTensor("token_embd.weight", quant.F32, []uint64{uint64(d.in), uint64(d.out)}, f32Bytes(d.w)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cfg.gguf")
	if err := wr.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadedDecodeDoesNotAllocate(t *testing.T) {
	v := variants()[6]
	m, err := loadFile(t, v.spec(quant.Q8_0).write(t))
	if err != nil {
		t.Fatal(err)
	}
	ws, c := newWorkspace(t, m, 8), newCache(t, m, 128, KVF16)
	ctx := context.Background()
	if _, err := m.Eval(ctx, ws, c, randomTokens(1, 8, v.vocab)); err != nil {
		t.Fatal(err)
	}
	tok := []int32{3}
	if allocs := testing.AllocsPerRun(30, func() { m.Eval(ctx, ws, c, tok) }); allocs != 0 {
		t.Errorf("decode with quant kernels allocated %v times per token", allocs)
	}
}
