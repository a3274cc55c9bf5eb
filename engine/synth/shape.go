package synth

import (
	"fmt"
	"slices"
	"strings"
)

// Architectures the generator writes, named as general.architecture names
// them.
const (
	ArchLlama = "llama"
	ArchQwen2 = "qwen2"
	ArchQwen3 = "qwen3"
)

// Chat template families a file can carry, named as engine/chat names them.
const (
	TemplateQwen25 = "qwen2.5"
	TemplateQwen3  = "qwen3"
	TemplateLlama3 = "llama3"
)

// Shape is a model's architecture and sizes.
type Shape struct {
	// Name is the shape's name ("tiny", "qwen2.5-0.5b", ...), written into
	// general.name.
	Name string
	// Arch is ArchLlama, ArchQwen2 or ArchQwen3.
	Arch    string
	Embd    int // embedding_length
	Layers  int // block_count
	Heads   int // attention.head_count
	KVHeads int // attention.head_count_kv
	HeadDim int // attention.key_length and value_length
	FF      int // feed_forward_length
	// Vocab is the number of tokens. 0 means the synthetic vocabulary's own
	// size; a larger value pads it with unused [PADn] tokens, as the
	// converters pad real vocabularies to their embedding size.
	Vocab int
	// SpecialBase is the id of the first special token; 0 means right
	// after the learnt merges. Real shapes put them where the real models
	// have them (151643 for Qwen, 128000 for Llama 3).
	SpecialBase int
	Context     int     // context_length
	RopeBase    float32 // rope.freq_base
	RMSEps      float32 // attention.layer_norm_rms_epsilon
	// Llama3Rope adds Llama 3.1's rope_freqs.weight (factor 8, low 1,
	// high 4, original context 8192), as Llama 3.2's converter writes it.
	Llama3Rope bool
	// Tie leaves out output.weight, so the output reuses token_embd.
	Tie bool
	// Template is the chat template family: TemplateQwen25,
	// TemplateQwen3 or TemplateLlama3. It decides the special tokens, the
	// pre-tokenizer and tokenizer.chat_template.
	Template string
}

// Tiny is the shape for tests: two layers, grouped-query attention, and
// sizes that fit every block type, the K-quants' 256 included (qwen3's
// head size is 128, so its query width of 512 differs from n_embd, as in
// the real Qwen3 models).
func Tiny(arch string) (Shape, error) {
	s := Shape{
		Name: "tiny", Arch: arch, Embd: 256, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 64, FF: 512,
		Context: 4096, RopeBase: 10000, RMSEps: 1e-6, Template: TemplateQwen25,
	}
	switch arch {
	case ArchLlama:
		s.RMSEps = 1e-5
	case ArchQwen2:
	case ArchQwen3:
		s.HeadDim, s.Template = 128, TemplateQwen3
	default:
		return Shape{}, fmt.Errorf("synth: unknown architecture %q (known: %s)", arch, strings.Join(Archs(), ", "))
	}
	return s, nil
}

// Archs lists the architectures.
func Archs() []string { return []string{ArchLlama, ArchQwen2, ArchQwen3} }

// Templates lists the chat template families.
func Templates() []string { return []string{TemplateQwen25, TemplateQwen3, TemplateLlama3} }

// realShapes are the published models' hyperparameters (their config.json
// and llama.cpp's conversions of them), for benchmarks: a random model of
// a real model's shape runs exactly as fast as the real one.
var realShapes = []Shape{
	{
		Name: "qwen2.5-0.5b", Arch: ArchQwen2, Embd: 896, Layers: 24, Heads: 14, KVHeads: 2, HeadDim: 64, FF: 4864,
		Vocab: 151936, SpecialBase: 151643, Context: 32768, RopeBase: 1e6, RMSEps: 1e-6, Tie: true, Template: TemplateQwen25,
	},
	{
		Name: "qwen3-0.6b", Arch: ArchQwen3, Embd: 1024, Layers: 28, Heads: 16, KVHeads: 8, HeadDim: 128, FF: 3072,
		Vocab: 151936, SpecialBase: 151643, Context: 40960, RopeBase: 1e6, RMSEps: 1e-6, Tie: true, Template: TemplateQwen3,
	},
	{
		Name: "llama-3.2-1b", Arch: ArchLlama, Embd: 2048, Layers: 16, Heads: 32, KVHeads: 8, HeadDim: 64, FF: 8192,
		Vocab: 128256, SpecialBase: 128000, Context: 131072, RopeBase: 500000, RMSEps: 1e-5, Llama3Rope: true, Tie: true,
		Template: TemplateLlama3,
	},
}

// ShapeNames lists the shapes NamedShape knows: "tiny" and the real ones.
func ShapeNames() []string {
	names := []string{"tiny"}
	for _, s := range realShapes {
		names = append(names, s.Name)
	}
	return names
}

// NamedShape returns a shape by name. arch picks tiny's architecture
// ("" means qwen2); for a real shape it must be empty or the shape's own.
func NamedShape(name, arch string) (Shape, error) {
	if name == "" || name == "tiny" {
		if arch == "" {
			arch = ArchQwen2
		}
		return Tiny(arch)
	}
	i := slices.IndexFunc(realShapes, func(s Shape) bool { return s.Name == name })
	if i < 0 {
		return Shape{}, fmt.Errorf("synth: unknown shape %q (known: %s)", name, strings.Join(ShapeNames(), ", "))
	}
	s := realShapes[i]
	if arch != "" && arch != s.Arch {
		return Shape{}, fmt.Errorf("synth: shape %s is a %s model, not %s", name, s.Arch, arch)
	}
	return s, nil
}

// QDim is the width of all query heads together.
func (s Shape) QDim() int { return s.Heads * s.HeadDim }

// KVDim is the width of all key (or value) heads together.
func (s Shape) KVDim() int { return s.KVHeads * s.HeadDim }

// Validate reports sizes llama.cpp could not run.
func (s Shape) Validate() error {
	if !slices.Contains(Archs(), s.Arch) {
		return fmt.Errorf("synth: unknown architecture %q (known: %s)", s.Arch, strings.Join(Archs(), ", "))
	}
	if !slices.Contains(Templates(), s.Template) {
		return fmt.Errorf("synth: unknown chat template %q (known: %s)", s.Template, strings.Join(Templates(), ", "))
	}
	for _, p := range []struct {
		name string
		v    int
	}{
		{"embedding length", s.Embd}, {"layers", s.Layers}, {"heads", s.Heads}, {"KV heads", s.KVHeads},
		{"head size", s.HeadDim}, {"feed-forward length", s.FF}, {"context length", s.Context},
	} {
		if p.v <= 0 || p.v > 1<<20 {
			return fmt.Errorf("synth: %s %d is out of range", p.name, p.v)
		}
	}
	switch {
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("synth: %d heads are not a multiple of %d KV heads", s.Heads, s.KVHeads)
	case s.HeadDim%2 != 0:
		return fmt.Errorf("synth: head size %d must be even (rotary pairs)", s.HeadDim)
	case s.Vocab < 0 || s.SpecialBase < 0:
		return fmt.Errorf("synth: vocabulary size %d and special base %d must not be negative", s.Vocab, s.SpecialBase)
	case s.Vocab > 1<<22:
		return fmt.Errorf("synth: vocabulary size %d is out of range", s.Vocab)
	case !(s.RopeBase > 0) || !(s.RMSEps > 0):
		return fmt.Errorf("synth: rope base %v and RMS epsilon %v must be positive", s.RopeBase, s.RMSEps)
	case s.Llama3Rope && s.Arch != ArchLlama:
		return fmt.Errorf("synth: Llama 3 rope factors need the llama architecture, not %s", s.Arch)
	}
	return nil
}
