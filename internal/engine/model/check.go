package model

import (
	"fmt"
	"math"

	"github.com/tetherllm/tether/engine/gguf"
)

// minLayerTensors is the fewest tensors a block has in any supported
// architecture: seven matrices and two norms.
const minLayerTensors = 9

// Check validates an open GGUF file as a model this package runs, without
// binding its weights: the hyperparameters ([ReadConfig]), then every
// tensor the model needs, present with the shape the hyperparameters give
// it and of a supported type, and Llama 3's rope frequency factors (the
// one tensor whose values are configuration) valid. The parser has already placed every tensor
// inside the file, so once the tensors agree with the hyperparameters no
// dimension can imply more memory than the file holds. Nothing
// proportional to a dimension is allocated before that: a header claiming
// 2^31 blocks is refused by counting the file's tensors. Problems come
// back as a one-line [*llm.ModelFileError] naming the file.
func Check(f *gguf.File) (Config, error) {
	cfg, err := ReadConfig(f)
	if err != nil {
		return cfg, err
	}
	// Counted in int64: Layers may be as large as MaxInt32.
	need := 2 + int64(cfg.Layers)*minLayerTensors // + token_embd and output_norm
	if have := int64(len(f.Tensors())); need > have {
		return cfg, fileError(f, fmt.Sprintf("%s.block_count %d needs at least %d tensors, the file has %d", cfg.Arch, cfg.Layers, need, have), nil)
	}
	for _, s := range globalSlots(&cfg, &Weights{}) {
		if err := checkSlot(f, s, ""); err != nil {
			return cfg, err
		}
	}
	var scratch Layer
	slots := layerSlots(&cfg, &scratch)
	for i := range cfg.Layers {
		prefix := fmt.Sprintf("blk.%d.", i)
		for _, s := range slots {
			if err := checkSlot(f, s, prefix); err != nil {
				return cfg, err
			}
		}
	}
	if cfg.Rope.Type == RopeNormal {
		// Llama 3's frequency factors are part of the configuration, and
		// their values must be checked too: read them (Dims/2 floats).
		b := &binder{f: f, cfg: &cfg}
		if cfg.Rope.Factors, err = b.optionalVector("rope_freqs.weight", cfg.Rope.Dims/2); err != nil {
			return cfg, err
		}
		if err := cfg.Validate(); err != nil {
			return cfg, configError(f, err)
		}
	}
	return cfg, nil
}

// slot is one tensor of a model: a matrix of out rows of in elements
// (bound into mat) or, when out is 0, a vector of in values (bound into
// vec).
type slot struct {
	name     string
	in, out  int
	required bool
	mat      *Linear
	vec      *[]float32
}

// globalSlots are the tensors outside the blocks, bound into w. The
// tied-output case (no output.weight) and rope_freqs are optional.
func globalSlots(c *Config, w *Weights) []slot {
	s := []slot{
		{name: "token_embd.weight", in: c.Embd, out: c.Vocab, required: true},
		{name: "output_norm.weight", in: c.Embd, required: true, vec: &w.OutputNorm},
		{name: "output.weight", in: c.Embd, out: c.Vocab, mat: &w.Output},
	}
	if c.Rope.Type == RopeNormal {
		// Only the normal rotation reads Llama 3's frequency factors.
		s = append(s, slot{name: "rope_freqs.weight", in: c.Rope.Dims / 2})
	}
	return s
}

// layerSlots are the tensors of one block, named without the "blk.N."
// prefix, bound into l: one table for checking a file and for binding it.
func layerSlots(c *Config, l *Layer) []slot {
	return []slot{
		{name: "attn_norm.weight", in: c.Embd, required: true, vec: &l.AttnNorm},
		{name: "attn_q.weight", in: c.Embd, out: c.QDim(), required: true, mat: &l.Q},
		{name: "attn_k.weight", in: c.Embd, out: c.KDim(), required: true, mat: &l.K},
		{name: "attn_v.weight", in: c.Embd, out: c.VDim(), required: true, mat: &l.V},
		{name: "attn_output.weight", in: c.AttnDim(), out: c.Embd, required: true, mat: &l.O},
		{name: "ffn_norm.weight", in: c.Embd, required: true, vec: &l.FFNNorm},
		{name: "ffn_gate.weight", in: c.Embd, out: c.FF, required: true, mat: &l.Gate},
		{name: "ffn_up.weight", in: c.Embd, out: c.FF, required: true, mat: &l.Up},
		{name: "ffn_down.weight", in: c.FF, out: c.Embd, required: true, mat: &l.Down},
		{name: "attn_q.bias", in: c.QDim(), vec: &l.QBias},
		{name: "attn_k.bias", in: c.KDim(), vec: &l.KBias},
		{name: "attn_v.bias", in: c.VDim(), vec: &l.VBias},
		{name: "attn_output.bias", in: c.Embd, vec: &l.OBias},
		{name: "attn_q_norm.weight", in: c.HeadDimK, required: c.Arch == ArchQwen3, vec: &l.QNorm},
		{name: "attn_k_norm.weight", in: c.HeadDimK, required: c.Arch == ArchQwen3, vec: &l.KNorm},
	}
}

// shape is the GGUF shape of s: [in, out] for a matrix, [in] for a
// vector.
func (s slot) shape() []int {
	if s.out == 0 {
		return []int{s.in}
	}
	return []int{s.in, s.out}
}

// checkSlot checks the tensor of s, named prefix+s.name, from its info
// alone.
func checkSlot(f *gguf.File, s slot, prefix string) error {
	name := prefix + s.name
	ti, ok := f.TensorInfo(name)
	if !ok {
		if s.required {
			return fileError(f, "tensor "+name+" is missing", nil)
		}
		return nil
	}
	if err := checkShape(f, name, ti.Shape, s.shape()); err != nil {
		return err
	}
	if !ti.Type.Supported() {
		return fileError(f, fmt.Sprintf("tensor %s has type %s, which is not supported", name, ti.Type), nil)
	}
	return nil
}

func checkShape(f *gguf.File, name string, got []uint64, want []int) error {
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i] == uint64(want[i])
	}
	if !ok {
		return fileError(f, fmt.Sprintf("tensor %s has shape %v, want %v", name, got, want), nil)
	}
	return nil
}

// KVCacheBytes is the memory a KV cache of tokens positions takes for a
// model of cfg, saturating at math.MaxInt64 rather than overflowing, so
// that an estimate for absurd dimensions stays an absurd number.
func KVCacheBytes(cfg Config, tokens int, typ KVType) int64 {
	elem := int64(2)
	if typ == KVF32 {
		elem = 4
	}
	return MulBytes(int64(tokens), int64(cfg.Layers), int64(cfg.KVHeads), int64(cfg.HeadDimK)+int64(cfg.HeadDimV), elem)
}

// WorkspaceBytes estimates the memory of a [Workspace] for batches of
// batch tokens: its activation buffers, which grow with the model's
// widths (the per-thread attention scratch, far smaller, is left out).
// It saturates at math.MaxInt64 like [KVCacheBytes].
func WorkspaceBytes(c Config, batch int) int64 {
	widths := []int64{
		2 * int64(c.Embd), // x, xn
		int64(c.Heads) * int64(c.HeadDimK), int64(c.KVHeads) * int64(c.HeadDimK), int64(c.KVHeads) * int64(c.HeadDimV),
		int64(c.Heads) * int64(c.HeadDimV), int64(c.Rope.Dims),
	}
	var row int64
	for _, w := range widths {
		row = AddBytes(row, w)
	}
	ffn := MulBytes(2, int64(min(batch, ffnRows)), int64(c.FF), 4)
	return AddBytes(AddBytes(MulBytes(int64(batch), row, 4), ffn), MulBytes(int64(c.Vocab), 4))
}

// AddBytes adds sizes, saturating at math.MaxInt64.
func AddBytes(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// MulBytes multiplies sizes, saturating at math.MaxInt64; a factor of
// zero or less gives 0.
func MulBytes(factors ...int64) int64 {
	p := int64(1)
	for _, x := range factors {
		switch {
		case x <= 0:
			return 0
		case p > math.MaxInt64/x:
			p = math.MaxInt64
		default:
			p *= x
		}
	}
	return p
}
