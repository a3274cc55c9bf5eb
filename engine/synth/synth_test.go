package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/quant"
)

func tiny(t testing.TB, arch string) Shape {
	t.Helper()
	s, err := Tiny(arch)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t testing.TB, o Options) (*Model, []byte) {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return m, b.Bytes()
}

func TestDeterministic(t *testing.T) {
	s := tiny(t, ArchQwen3)
	s.Layers = 1
	o := Options{Shape: s, Type: quant.Q4_0, Seed: 7}
	_, a := build(t, o)
	prev := runtime.GOMAXPROCS(1)
	_, b := build(t, o)
	runtime.GOMAXPROCS(prev)
	if !bytes.Equal(a, b) {
		t.Fatal("the same options on 1 and several threads gave different files")
	}
	o.Seed = 8
	_, c := build(t, o)
	if bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same file")
	}
	if len(a) != len(c) {
		t.Fatalf("seeds changed the layout: %d and %d bytes", len(a), len(c))
	}
	t.Logf("one-layer tiny qwen3 q4_0: %d bytes, sha256 %x", len(a), sha256.Sum256(a))
}

func TestFileLayout(t *testing.T) {
	for _, tc := range []struct {
		arch   string
		tie    bool
		typ    quant.Type
		extra  []string // per-layer tensors beyond llama's
		tokens int
	}{
		{ArchLlama, false, quant.Q8_0, nil, 0},
		{ArchQwen2, true, quant.F16, []string{"attn_q.bias", "attn_k.bias", "attn_v.bias"}, 0},
		{ArchQwen3, false, quant.Q6_K, []string{"attn_q_norm.weight", "attn_k_norm.weight"}, 0},
	} {
		t.Run(fmt.Sprintf("%s tie=%v %s", tc.arch, tc.tie, tc.typ), func(t *testing.T) {
			s := tiny(t, tc.arch)
			s.Tie = tc.tie
			m, data := build(t, Options{Shape: s, Type: tc.typ, Seed: 1})
			f, err := gguf.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			a := tc.arch
			for key, want := range map[string]any{
				"general.architecture":                  a,
				a + ".embedding_length":                 uint32(s.Embd),
				a + ".block_count":                      uint32(2),
				a + ".attention.head_count":             uint32(4),
				a + ".attention.head_count_kv":          uint32(2),
				a + ".attention.key_length":             uint32(s.HeadDim),
				a + ".rope.dimension_count":             uint32(s.HeadDim),
				a + ".context_length":                   uint32(4096),
				a + ".attention.layer_norm_rms_epsilon": s.RMSEps,
				a + ".rope.freq_base":                   float32(10000),
				"tokenizer.ggml.model":                  "gpt2",
				"tokenizer.ggml.pre":                    "qwen2",
				"tokenizer.ggml.add_bos_token":          false,
				"general.alignment":                     uint32(32),
			} {
				v, ok := f.Lookup(key)
				if !ok {
					t.Errorf("key %s is missing", key)
					continue
				}
				if v.Any() != want {
					t.Errorf("%s = %v (%s), want %v (%T)", key, v.Any(), v.TypeName(), want, want)
				}
			}
			names := map[string]gguf.TensorInfo{}
			for _, ti := range f.Tensors() {
				names[ti.Name] = ti
				if len(ti.Shape) == 1 && ti.Type != quant.F32 {
					t.Errorf("%s is %s; 1-D tensors stay f32", ti.Name, ti.Type)
				}
				if len(ti.Shape) == 2 && ti.Type != tc.typ {
					t.Errorf("%s is %s, want %s", ti.Name, ti.Type, tc.typ)
				}
			}
			want := []string{"token_embd.weight", "output_norm.weight"}
			if !tc.tie {
				want = append(want, "output.weight")
			}
			for l := range 2 {
				for _, n := range append([]string{"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
					"attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"}, tc.extra...) {
					want = append(want, fmt.Sprintf("blk.%d.%s", l, n))
				}
			}
			if len(names) != len(want) {
				t.Errorf("%d tensors, want %d", len(names), len(want))
			}
			for _, n := range want {
				if _, ok := names[n]; !ok {
					t.Errorf("tensor %s is missing", n)
				}
			}
			nv := uint64(len(m.Vocab().Tokens))
			if got := names["token_embd.weight"].Shape; !slices.Equal(got, []uint64{uint64(s.Embd), nv}) {
				t.Errorf("token_embd shape %v, want [%d %d]", got, s.Embd, nv)
			}
			if got := names["blk.0.attn_output.weight"].Shape; !slices.Equal(got, []uint64{uint64(s.QDim()), uint64(s.Embd)}) {
				t.Errorf("attn_output shape %v, want [%d %d]", got, s.QDim(), s.Embd)
			}
			if got := names["blk.1.ffn_down.weight"].Shape; !slices.Equal(got, []uint64{uint64(s.FF), uint64(s.Embd)}) {
				t.Errorf("ffn_down shape %v, want [%d %d]", got, s.FF, s.Embd)
			}
			// Tensors() describes the file exactly.
			var total uint64
			for _, ti := range m.Tensors() {
				got := names[ti.Name]
				if got.Type != ti.Type || !slices.Equal(got.Shape, ti.Shape) || got.Size != ti.Bytes {
					t.Errorf("Tensors() says %+v, file has %+v", ti, got)
				}
				total += ti.Bytes
			}
			if total == 0 || total > uint64(len(data)) {
				t.Errorf("tensor bytes %d for a %d-byte file", total, len(data))
			}
		})
	}
}

// TestEveryTypeLoadsInEngine loads a file of every type, the
// architectures taking turns (engine/oracle loads all of them in both
// engines).
func TestEveryTypeLoadsInEngine(t *testing.T) {
	for i, typ := range Types() {
		arch := Archs()[i%3]
		t.Run(arch+"/"+typ.String(), func(t *testing.T) {
			s := tiny(t, arch)
			s.Tie = i%4 == 1
			path := filepath.Join(t.TempDir(), "m.gguf")
			if _, err := Write(context.Background(), path, Options{Shape: s, Type: typ, Seed: 1}); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("stat: %v, mode %v", err, fi.Mode())
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := model.Load(f, model.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
		})
	}
}

func TestVocab(t *testing.T) {
	for _, tc := range []struct {
		shape                 string
		arch                  string
		template              string
		size, base            int
		bos, eos, eot         string
		pre                   string
		addBOS                bool
		userDefined, controls int
	}{
		{"tiny", ArchQwen2, TemplateQwen25, 0, 0, "<|endoftext|>", "<|im_end|>", "<|im_end|>", "qwen2", false, 6, 3},
		{"qwen2.5-0.5b", "", TemplateQwen25, 151936, 151643, "<|endoftext|>", "<|im_end|>", "<|im_end|>", "qwen2", false, 6, 3},
		{"qwen3-0.6b", "", TemplateQwen3, 151936, 151643, "<|endoftext|>", "<|im_end|>", "<|im_end|>", "qwen2", false, 6, 3},
		{"llama-3.2-1b", "", TemplateLlama3, 128256, 128000, "<|begin_of_text|>", "<|eot_id|>", "<|eot_id|>", "llama-bpe", true, 0, 256},
	} {
		t.Run(tc.shape, func(t *testing.T) {
			s, err := NamedShape(tc.shape, tc.arch)
			if err != nil {
				t.Fatal(err)
			}
			if s.Template != tc.template {
				t.Errorf("template %s, want %s", s.Template, tc.template)
			}
			v, err := NewVocab(s)
			if err != nil {
				t.Fatal(err)
			}
			if tc.size != 0 && len(v.Tokens) != tc.size {
				t.Errorf("%d tokens, want %d", len(v.Tokens), tc.size)
			}
			if len(v.Types) != len(v.Tokens) {
				t.Fatalf("%d types for %d tokens", len(v.Types), len(v.Tokens))
			}
			ids := map[string]int32{}
			count := map[int32]int{}
			for i, tok := range v.Tokens {
				if _, dup := ids[tok]; dup {
					t.Fatalf("token %q appears twice", tok)
				}
				ids[tok] = int32(i)
				count[v.Types[i]]++
			}
			for b := range 256 {
				if got, ok := v.Bytes(int32(b)); !ok || len(got) != 1 || got[0] != byte(b) {
					t.Fatalf("token %d is %q, not byte %d", b, v.Tokens[b], b)
				}
			}
			for _, m := range v.Merges {
				l, r, ok := strings.Cut(m, " ")
				if _, okl := ids[l]; !ok || !okl {
					t.Fatalf("merge %q: left side is not a token", m)
				}
				if _, okr := ids[r]; !okr {
					t.Fatalf("merge %q: right side is not a token", m)
				}
				if _, okj := ids[l+r]; !okj {
					t.Fatalf("merge %q: result is not a token", m)
				}
			}
			if len(v.Merges) < 300 {
				t.Errorf("only %d merges learnt", len(v.Merges))
			}
			if tc.base != 0 && v.Tokens[tc.base] != tc.bos {
				t.Errorf("token %d is %q, want the first special %q", tc.base, v.Tokens[tc.base], tc.bos)
			}
			if v.Tokens[v.BOS] != tc.bos || v.Tokens[v.EOS] != tc.eos || v.Tokens[v.EndOfTurn] != tc.eot {
				t.Errorf("BOS/EOS/end of turn %q/%q/%q", v.Tokens[v.BOS], v.Tokens[v.EOS], v.Tokens[v.EndOfTurn])
			}
			if v.Pre != tc.pre || v.AddBOS != tc.addBOS || v.Model != "gpt2" {
				t.Errorf("pre %q add_bos %v model %q", v.Pre, v.AddBOS, v.Model)
			}
			if count[typeUserDefined] != tc.userDefined || count[typeControl] != tc.controls {
				t.Errorf("%d user-defined and %d control tokens, want %d and %d", count[typeUserDefined], count[typeControl], tc.userDefined, tc.controls)
			}
			if v.Types[v.Call] != typeNormal || v.Printable(v.Call) {
				t.Errorf("the tool-call token must be normal and not printable by default")
			}
			if !v.Printable(v.EndOfTurn) || v.Printable(v.BOS) || v.Printable(0) || v.Printable(200) || !v.Printable('a') || !v.Printable('\n') {
				t.Error("Printable is wrong for the end of turn, BOS, bytes 0, 200, 'a' or newline")
			}
			if !v.Newline('\n') || v.Newline(' ') || v.Newline('a') {
				t.Error("Newline is wrong for bytes newline, space or 'a'")
			}
		})
	}
}

func TestTemplatesAreTheOfficialOnes(t *testing.T) {
	for family, file := range map[string]string{
		TemplateQwen25: "qwen2.5-7b-instruct.jinja",
		TemplateQwen3:  "qwen3-0.6b.jinja",
		TemplateLlama3: "llama-3.2-3b-instruct.jinja",
	} {
		text, err := ChatTemplate(family)
		if err != nil {
			t.Fatal(err)
		}
		official, err := os.ReadFile(filepath.Join("..", "chat", "testdata", "templates", file))
		if err != nil {
			t.Fatal(err)
		}
		if text != string(official) {
			t.Errorf("%s: the embedded template differs from engine/chat's testdata/templates/%s", family, file)
		}
		if got := chat.Detect(text); got != family {
			t.Errorf("chat.Detect says %s for the %s template", got, family)
		}
	}
	if _, err := ChatTemplate("chatml"); err == nil {
		t.Error("unknown family accepted")
	}
}

func TestWeightType(t *testing.T) {
	for _, tc := range []struct {
		typ  quant.Type
		ne0  int
		want quant.Type
	}{
		{quant.Q4_K, 256, quant.Q4_K},
		{quant.Q4_K, 896, quant.Q5_0},
		{quant.Q5_K, 896, quant.Q5_1},
		{quant.Q6_K, 896, quant.Q8_0},
		{quant.Q6_K, 4864, quant.Q6_K},
		{quant.Q4_K, 100, quant.F16},
		{quant.Q8_0, 96, quant.Q8_0},
		{quant.Q8_0, 100, quant.F16},
		{quant.F32, 7, quant.F32},
		{quant.BF16, 7, quant.BF16},
	} {
		if got := WeightType(tc.typ, tc.ne0); got != tc.want {
			t.Errorf("WeightType(%s, %d) = %s, want %s", tc.typ, tc.ne0, got, tc.want)
		}
	}
}

func TestRealShapes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    quant.Type
		minMB  int
		maxMB  int
		counts map[quant.Type]int // matrices by type
	}{
		// Qwen2.5-0.5B: 896 is not a multiple of 256, so the matrices that
		// read it fall back; ffn_down (4864 = 19·256) stays Q4_K.
		{"qwen2.5-0.5b", quant.Q4_K, 280, 340, map[quant.Type]int{quant.Q5_0: 1 + 24*6, quant.Q4_K: 24}},
		{"qwen2.5-0.5b", quant.Q8_0, 500, 560, map[quant.Type]int{quant.Q8_0: 1 + 24*7}},
		{"qwen3-0.6b", quant.Q8_0, 580, 660, map[quant.Type]int{quant.Q8_0: 1 + 28*7}},
		{"llama-3.2-1b", quant.Q4_K, 650, 800, map[quant.Type]int{quant.Q4_K: 1 + 16*7}},
	} {
		t.Run(tc.name+"/"+tc.typ.String(), func(t *testing.T) {
			s, err := NamedShape(tc.name, "")
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(Options{Shape: s, Type: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			var total uint64
			counts := map[quant.Type]int{}
			hasOutput, hasRope := false, false
			for _, ti := range m.Tensors() {
				total += ti.Bytes
				if len(ti.Shape) == 2 {
					counts[ti.Type]++
				}
				hasOutput = hasOutput || ti.Name == "output.weight"
				hasRope = hasRope || ti.Name == "rope_freqs.weight"
			}
			if mb := int(total >> 20); mb < tc.minMB || mb > tc.maxMB {
				t.Errorf("%d MiB of weights, want %d-%d", mb, tc.minMB, tc.maxMB)
			}
			if !maps.Equal(counts, tc.counts) {
				t.Errorf("matrices by type %v, want %v", counts, tc.counts)
			}
			if hasOutput || hasRope != s.Llama3Rope {
				t.Errorf("output.weight present %v (real shapes tie), rope_freqs present %v", hasOutput, hasRope)
			}
			t.Logf("%s %s: %.1f MiB of weights", tc.name, tc.typ, float64(total)/(1<<20))
		})
	}
}

func TestLlama3RopeFactors(t *testing.T) {
	f := llama3RopeFactors(64, 500000)
	if len(f) != 32 || f[0] != 1 || f[31] != 32 {
		t.Fatalf("factors %v: want 32 of them from 1 (high frequencies) to 32 (low)", f)
	}
	for i := 1; i < len(f); i++ {
		if f[i] < f[i-1] {
			t.Fatalf("factors decrease at %d: %v", i, f)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	qwen := tiny(t, ArchQwen2)
	tied := qwen
	tied.Tie = true
	odd := qwen
	odd.Heads = 3
	badTemplate := qwen
	badTemplate.Template = "mistral"
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"tool call tied", Options{Shape: tied, ToolCall: true}, "untied"},
		{"unsupported type", Options{Shape: qwen, Type: quant.IQ2_XS}, "not supported"},
		{"heads", Options{Shape: odd}, "multiple"},
		{"template", Options{Shape: badTemplate}, "chat template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ shape, arch string }{{"tiny", "mistral"}, {"qwen2.5-0.5b", "llama"}, {"gpt-5", ""}} {
		if _, err := NamedShape(tc.shape, tc.arch); err == nil {
			t.Errorf("NamedShape(%q, %q) succeeded", tc.shape, tc.arch)
		}
	}
}

// TestGreedyInEngine runs tether's engine on tiny files: greedy text is
// printable ASCII, and tool-call mode writes the tool call and ends the
// turn, in every architecture and template. (engine/oracle checks the
// same in llama.cpp.)
func TestGreedyInEngine(t *testing.T) {
	for _, tc := range []struct {
		arch, template string
		typ            quant.Type
		toolCall       bool
		prompt         string
	}{
		{ArchQwen2, "", quant.Q8_0, false, "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"},
		{ArchLlama, "", quant.Q4_K, true, "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n"},
		{ArchQwen2, "", quant.Q4_0, true, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n"},
		{ArchQwen3, "", quant.F16, true, "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
		{ArchLlama, TemplateLlama3, quant.Q8_0, true, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s/tool-call=%v", tc.arch, tc.template, tc.typ, tc.toolCall), func(t *testing.T) {
			s := tiny(t, tc.arch)
			if tc.template != "" {
				s.Template = tc.template
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			sm, err := Write(context.Background(), path, Options{Shape: s, Type: tc.typ, Seed: 5, ToolCall: tc.toolCall})
			if err != nil {
				t.Fatal(err)
			}
			text, ended := greedyText(t, path, sm, tc.prompt, 24)
			if tc.toolCall {
				if !ended || text != sm.ToolCallText() {
					t.Fatalf("tool-call mode wrote %q (ended %v), want %q then the end of turn", text, ended, sm.ToolCallText())
				}
				return
			}
			for _, c := range []byte(text) {
				if (c < 32 && c != '\t' && c != '\n') || c > 126 {
					t.Fatalf("greedy text %q is not printable ASCII", text)
				}
			}
			t.Logf("greedy: %q", text)
		})
	}
}

// greedyText decodes greedily with the engine's forward pass, tokenizing
// with the vocabulary's own ids (the prompt's specials looked up, the rest
// as single bytes — enough for a forward pass).
func greedyText(t *testing.T, path string, sm *Model, prompt string, n int) (string, bool) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.Load(f, model.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v := sm.Vocab()
	ids := map[string]int32{}
	for i, tok := range v.Tokens {
		if v.Types[i] == typeControl || v.Types[i] == typeUserDefined {
			ids[tok] = int32(i)
		}
	}
	var toks []int32
	for rest := prompt; rest != ""; {
		if rest[0] == '<' {
			if end := strings.IndexByte(rest, '>'); end > 0 {
				if id, ok := ids[rest[:end+1]]; ok {
					toks = append(toks, id)
					rest = rest[end+1:]
					continue
				}
			}
		}
		toks = append(toks, int32(rest[0]))
		rest = rest[1:]
	}
	ws, err := m.NewWorkspace(64)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.NewCache(len(toks)+n, model.KVF16)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Eval(context.Background(), ws, c, toks)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for range n {
		best := 0
		for i, l := range logits {
			if l > logits[best] {
				best = i
			}
		}
		id := int32(best)
		if id == v.EndOfTurn {
			return out.String(), true
		}
		if b, ok := v.Bytes(id); ok {
			out.Write(b)
		} else {
			out.WriteString(v.Tokens[id])
		}
		if logits, err = m.Eval(context.Background(), ws, c, []int32{id}); err != nil {
			t.Fatal(err)
		}
	}
	return out.String(), false
}

func TestWriteFileCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(dir, "m.gguf")
	if _, err := Write(ctx, path, Options{Shape: tiny(t, ArchLlama)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a cancelled write left %v", entries)
	}
	if _, err := Write(context.Background(), filepath.Join(dir, "missing", "m.gguf"), Options{Shape: tiny(t, ArchLlama)}); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
