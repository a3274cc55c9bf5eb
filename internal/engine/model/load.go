package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

// Load builds a model over the tensors of an open GGUF file, reading the
// hyperparameters as llama.cpp does (<arch>.context_length and the rest)
// and binding tensors by llama.cpp's names. The file passes [Check]
// before anything is allocated for its layers. Weight matrices stay
// quantised in the file's mapping, so f must stay open until the model is
// closed. Problems come back as a one-line [*llm.ModelFileError] naming
// the file.
func Load(f *gguf.File, opts Options) (*Model, error) {
	cfg, err := Check(f)
	if err != nil {
		return nil, err
	}
	pool := quant.NewPool(opts.Threads)
	b := &binder{f: f, pool: pool, cfg: &cfg}
	w, err := b.weights()
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := cfg.Validate(); err == nil {
		err = w.check(&cfg)
	}
	if err != nil {
		pool.Close()
		return nil, configError(f, err)
	}
	m := withPool(cfg, w, pool)
	m.fuse()
	return m, nil
}

func fileError(f *gguf.File, reason string, err error) error {
	return &llm.ModelFileError{Path: f.Path(), Reason: reason, Err: err}
}

// InvalidError is what Config.Validate and the weights' check find: a
// hyperparameter or tensor the model cannot run with.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "model: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// configError is a file error for what Config.Validate or Weights.check
// found, in the file error's words ("model <path>: <reason>").
func configError(f *gguf.File, err error) error {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return fileError(f, ie.Reason, nil)
	}
	return fileError(f, err.Error(), nil)
}

// ReadConfig reads a model's hyperparameters from its metadata, with
// llama.cpp's defaults for the optional keys. The vocabulary size comes
// from token_embd.weight.
func ReadConfig(f *gguf.File) (Config, error) {
	var cfg Config
	arch, err := f.Architecture()
	if err != nil {
		return cfg, fileError(f, "no architecture", err)
	}
	cfg.Arch = Arch(arch)
	switch cfg.Arch {
	case ArchLlama, ArchQwen2, ArchQwen3:
	default:
		return cfg, fileError(f, fmt.Sprintf("unsupported architecture %q (supported: llama, qwen2, qwen3)", arch), nil)
	}
	k := keys{f: f, arch: arch}
	cfg.ContextLength = k.int("context_length", -1)
	cfg.Embd = k.int("embedding_length", -1)
	cfg.Layers = k.int("block_count", -1)
	cfg.FF = k.int("feed_forward_length", -1)
	cfg.Heads = k.int("attention.head_count", -1)
	cfg.KVHeads = k.int("attention.head_count_kv", cfg.Heads)
	cfg.RMSEps = k.float("attention.layer_norm_rms_epsilon", float32(math.NaN()))
	experts := k.int("expert_count", 0)
	if k.err != nil {
		return cfg, k.err
	}
	if experts > 0 {
		return cfg, fileError(f, fmt.Sprintf("%s.expert_count is %d: mixture-of-experts models are not supported", arch, experts), nil)
	}
	if cfg.Heads <= 0 || cfg.Embd <= 0 {
		return cfg, fileError(f, fmt.Sprintf("%s.attention.head_count %d and %s.embedding_length %d must be positive", arch, cfg.Heads, arch, cfg.Embd), nil)
	}
	cfg.HeadDimK = k.int("attention.key_length", cfg.Embd/cfg.Heads)
	cfg.HeadDimV = k.int("attention.value_length", cfg.Embd/cfg.Heads)

	r := &cfg.Rope
	r.Type = RopeTypeOf(cfg.Arch)
	r.Dims = k.int("rope.dimension_count", cfg.HeadDimK)
	r.FreqBase = k.float("rope.freq_base", 10000)
	scaling := k.str("rope.scaling.type", "linear")
	factor := k.float("rope.scaling.factor", 0)
	if factor == 0 {
		factor = k.float("rope.scale_linear", 0)
	}
	r.OrigContext = k.int("rope.scaling.original_context_length", cfg.ContextLength)
	attnFactor := k.float("rope.scaling.attn_factor", 1)
	logMul := k.float("rope.scaling.yarn_log_multiplier", 0)
	if k.err != nil {
		return cfg, k.err
	}
	r.FreqScale = 1
	if factor != 0 {
		r.FreqScale = 1 / factor
	}
	r.AttnFactor, r.BetaFast, r.BetaSlow = 1, 32, 1
	switch RopeScaling(scaling) {
	case RopeScalingNone:
		r.Scaling, r.FreqScale = RopeScalingNone, 1
	case RopeScalingLinear:
		r.Scaling = RopeScalingLinear
	case RopeScalingYarn:
		r.Scaling, r.ExtFactor = RopeScalingYarn, 1
		r.AttnFactor = yarnAttnFactor(r.FreqScale, logMul)
	default:
		return cfg, fileError(f, fmt.Sprintf("unsupported rope scaling %q (supported: none, linear, yarn)", scaling), nil)
	}
	r.AttnFactor *= attnFactor
	cfg.AttnScale = float32(1 / math.Sqrt(float64(cfg.HeadDimK)))

	if ti, ok := f.TensorInfo("token_embd.weight"); ok && len(ti.Shape) == 2 {
		cfg.Vocab = int(min(ti.Shape[1], math.MaxInt32))
	} else if !ok {
		return cfg, fileError(f, "tensor token_embd.weight is missing", nil)
	} else {
		return cfg, fileError(f, fmt.Sprintf("tensor token_embd.weight has shape %v, want [embedding, vocab]", ti.Shape), nil)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, configError(f, err)
	}
	return cfg, nil
}

// keys reads <arch>.* metadata, keeping the first error.
type keys struct {
	f    *gguf.File
	arch string
	err  error
}

// int reads an integer key of any width, or a per-layer array of equal
// integers; def < 0 makes the key required.
func (k *keys) int(suffix string, def int) int {
	if k.err != nil {
		return 0
	}
	key := k.arch + "." + suffix
	v, ok := k.f.Lookup(key)
	if !ok {
		if def < 0 {
			k.err = fileError(k.f, "missing metadata key "+key, nil)
		}
		return def
	}
	if v.Len() > 0 {
		return k.uniformArray(key, v)
	}
	n, err := k.f.Int(key)
	if err != nil {
		k.err = fileError(k.f, "bad metadata key "+key, err)
		return 0
	}
	if n < 0 || n > math.MaxInt32 {
		k.err = fileError(k.f, fmt.Sprintf("metadata key %s is %d, out of range", key, n), nil)
		return 0
	}
	return int(n)
}

// uniformArray accepts the per-layer arrays some converters write for
// head counts and FFN sizes, as long as every layer agrees.
func (k *keys) uniformArray(key string, v gguf.Value) int {
	var vals []int64
	switch a := v.Any().(type) {
	case []uint32:
		for _, x := range a {
			vals = append(vals, int64(x))
		}
	case []int32:
		for _, x := range a {
			vals = append(vals, int64(x))
		}
	default:
		k.err = fileError(k.f, fmt.Sprintf("metadata key %s has type %s, want an integer", key, v.TypeName()), nil)
		return 0
	}
	for _, x := range vals[1:] {
		if x != vals[0] {
			k.err = fileError(k.f, fmt.Sprintf("metadata key %s differs between layers, which is not supported", key), nil)
			return 0
		}
	}
	if vals[0] < 0 || vals[0] > math.MaxInt32 {
		k.err = fileError(k.f, fmt.Sprintf("metadata key %s is %d, out of range", key, vals[0]), nil)
		return 0
	}
	return int(vals[0])
}

// float reads an f32 (or f64) key; a NaN default makes it required.
func (k *keys) float(suffix string, def float32) float32 {
	if k.err != nil {
		return 0
	}
	key := k.arch + "." + suffix
	v, ok := k.f.Lookup(key)
	if !ok {
		if def != def {
			k.err = fileError(k.f, "missing metadata key "+key, nil)
		}
		return def
	}
	switch x := v.Any().(type) {
	case float32:
		return x
	case float64:
		return float32(x)
	}
	k.err = fileError(k.f, fmt.Sprintf("metadata key %s has type %s, want f32", key, v.TypeName()), nil)
	return 0
}

func (k *keys) str(suffix, def string) string {
	if k.err != nil {
		return ""
	}
	s, err := gguf.GetOr(k.f, k.arch+"."+suffix, def)
	if err != nil {
		k.err = fileError(k.f, "bad metadata key "+k.arch+"."+suffix, err)
	}
	return s
}

// yarnAttnFactor is llama.cpp's YaRN attention factor, including the
// yarn_log_multiplier variant, before rope.scaling.attn_factor.
func yarnAttnFactor(freqScale, logMul float32) float32 {
	if logMul == 0 {
		return YarnAttnFactor(freqScale)
	}
	mscale := func(scale, m float32) float32 {
		if scale <= 1 {
			return 1
		}
		return 0.1*m*float32(math.Log(float64(scale))) + 1
	}
	factor := 1 / freqScale
	return mscale(factor, 1) / mscale(factor, logMul) * (1 / (1 + 0.1*float32(math.Log(float64(factor)))))
}

// binder looks up and checks tensors.
type binder struct {
	f    *gguf.File
	pool *quant.Pool
	cfg  *Config
}

func (b *binder) tensor(name string, shape ...int) (gguf.Tensor, error) {
	t, err := b.f.Tensor(name)
	if errors.Is(err, gguf.ErrTensorNotFound) {
		return t, fileError(b.f, "tensor "+name+" is missing", nil)
	}
	if err != nil {
		return t, fileError(b.f, "tensor "+name, err)
	}
	ok := len(t.Shape) == len(shape)
	for i := 0; ok && i < len(shape); i++ {
		ok = t.Shape[i] == uint64(shape[i])
	}
	if !ok {
		return t, fileError(b.f, fmt.Sprintf("tensor %s has shape %v, want %v", name, t.Shape, shape), nil)
	}
	return t, nil
}

// matrix binds a weight matrix of out rows of in elements, quantised in
// place.
func (b *binder) matrix(name string, in, out int) (*quant.Matrix, error) {
	t, err := b.tensor(name, in, out)
	if err != nil {
		return nil, err
	}
	if !t.Type.Supported() {
		return nil, fileError(b.f, fmt.Sprintf("tensor %s has type %s, which is not supported", name, t.Type), nil)
	}
	m, err := quant.NewMatrix(t.Type, out, in, t.Data, b.pool)
	if err != nil {
		return nil, fileError(b.f, "tensor "+name, err)
	}
	return m, nil
}

// vector reads a 1-D tensor (a norm or a bias) as float32.
func (b *binder) vector(name string, n int) ([]float32, error) {
	t, err := b.tensor(name, n)
	if err != nil {
		return nil, err
	}
	if !t.Type.Supported() {
		return nil, fileError(b.f, fmt.Sprintf("tensor %s has type %s, which is not supported", name, t.Type), nil)
	}
	v := make([]float32, n)
	if err := quant.Dequantize(t.Type, v, t.Data); err != nil {
		return nil, fileError(b.f, "tensor "+name, err)
	}
	return v, nil
}

// optionalVector is vector for tensors a file may leave out.
func (b *binder) optionalVector(name string, n int) ([]float32, error) {
	if _, ok := b.f.TensorInfo(name); !ok {
		return nil, nil
	}
	return b.vector(name, n)
}

// weights binds every tensor of the model; Check has bounded the
// number of layers by the file's tensors.
func (b *binder) weights() (Weights, error) {
	c := b.cfg
	var w Weights
	emb, err := b.matrix("token_embd.weight", c.Embd, c.Vocab)
	if err != nil {
		return w, err
	}
	w.TokenEmbd, w.Output = emb, emb
	for _, s := range globalSlots(c, &w) {
		if err := b.bind(s, ""); err != nil {
			return w, err
		}
	}
	w.Layers = make([]Layer, c.Layers)
	for i := range w.Layers {
		prefix := fmt.Sprintf("blk.%d.", i)
		for _, s := range layerSlots(c, &w.Layers[i]) {
			if err := b.bind(s, prefix); err != nil {
				return w, err
			}
		}
		if c.Arch != ArchQwen3 {
			// Only qwen3's graph applies q/k norms.
			w.Layers[i].QNorm, w.Layers[i].KNorm = nil, nil
		}
	}
	return w, nil
}

// bind reads the tensor of s, named prefix+s.name, into its destination;
// slots without one (token_embd, rope_freqs) are bound by their callers.
func (b *binder) bind(s slot, prefix string) error {
	name := prefix + s.name
	if _, ok := b.f.TensorInfo(name); !ok && !s.required {
		return nil
	}
	switch {
	case s.mat != nil:
		m, err := b.matrix(name, s.in, s.out)
		if err != nil {
			return err
		}
		*s.mat = m
	case s.vec != nil:
		v, err := b.vector(name, s.in)
		if err != nil {
			return err
		}
		*s.vec = v
	}
	return nil
}
