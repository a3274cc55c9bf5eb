package model

import (
	"math"
)

// Arch is a supported model architecture, named as GGUF's
// general.architecture names it.
type Arch string

// The architectures this package runs.
const (
	ArchLlama Arch = "llama"
	ArchQwen2 Arch = "qwen2"
	ArchQwen3 Arch = "qwen3"
)

// RopeType is how rotary embeddings pair up the dimensions of a head.
type RopeType int

const (
	// RopeNormal rotates adjacent pairs (x[2i], x[2i+1]): llama.
	RopeNormal RopeType = iota
	// RopeNeox rotates the halves (x[i], x[i+n/2]): qwen2, qwen3.
	RopeNeox
)

func (r RopeType) String() string {
	if r == RopeNeox {
		return "neox"
	}
	return "normal"
}

// RopeScaling is how positions are stretched beyond the trained context.
type RopeScaling string

// The scalings this package implements ("longrope" is not).
const (
	RopeScalingNone   RopeScaling = "none"
	RopeScalingLinear RopeScaling = "linear"
	RopeScalingYarn   RopeScaling = "yarn"
)

// Rope holds the rotary-embedding parameters, resolved the way llama.cpp
// resolves its context parameters from the file.
type Rope struct {
	Type RopeType
	// Dims is how many dimensions of each head rotate (n_rot).
	Dims int
	// FreqBase is θ in θ^(-2i/Dims).
	FreqBase float32
	// FreqScale multiplies positions: 1/factor for linear and YaRN
	// scaling, 1 otherwise.
	FreqScale float32
	Scaling   RopeScaling
	// Factors, when set (Llama 3's rope_freqs tensor), divide the angle of
	// each rotated pair; len(Factors) == Dims/2.
	Factors []float32
	// YaRN parameters; ExtFactor 0 turns YaRN's ramp off.
	OrigContext int
	ExtFactor   float32
	AttnFactor  float32
	BetaFast    float32
	BetaSlow    float32
}

// Config holds a model's hyperparameters.
type Config struct {
	Arch Arch
	// ContextLength is the trained context (n_ctx_train).
	ContextLength int
	Vocab         int
	Embd          int
	Layers        int
	FF            int
	Heads         int
	KVHeads       int
	// HeadDimK and HeadDimV are the per-head sizes of keys (and queries)
	// and values: attention.key_length and attention.value_length.
	HeadDimK int
	HeadDimV int
	// RMSEps is the epsilon of every RMS norm.
	RMSEps float32
	Rope   Rope
	// AttnScale scales q·k; llama.cpp uses 1/sqrt(HeadDimK).
	AttnScale float32
}

// RopeTypeOf returns the rotary layout llama.cpp uses for arch.
func RopeTypeOf(arch Arch) RopeType {
	if arch == ArchQwen2 || arch == ArchQwen3 {
		return RopeNeox
	}
	return RopeNormal
}

// Validate reports hyperparameters the forward pass cannot run.
func (c *Config) Validate() error {
	positive := []struct {
		name string
		v    int
	}{
		{"context_length", c.ContextLength}, {"vocabulary size", c.Vocab},
		{"embedding_length", c.Embd}, {"block_count", c.Layers},
		{"feed_forward_length", c.FF}, {"attention.head_count", c.Heads},
		{"attention.head_count_kv", c.KVHeads}, {"attention.key_length", c.HeadDimK},
		{"attention.value_length", c.HeadDimV}, {"rope.dimension_count", c.Rope.Dims},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return invalid("%s is %d; it must be positive", p.name, p.v)
		}
	}
	products := []struct {
		name string
		a, b int
	}{
		{"attention.head_count × key_length", c.Heads, c.HeadDimK},
		{"attention.head_count_kv × key_length", c.KVHeads, c.HeadDimK},
		{"attention.head_count × value_length", c.Heads, c.HeadDimV},
	}
	for _, p := range products {
		// Bounded like every single dimension, so that widths derived
		// from them cannot overflow an int.
		if p.a > math.MaxInt32/p.b {
			return invalid("%s = %d × %d is too large", p.name, p.a, p.b)
		}
	}
	switch c.Arch {
	case ArchLlama, ArchQwen2, ArchQwen3:
	default:
		return invalid("unsupported architecture %q (supported: llama, qwen2, qwen3)", c.Arch)
	}
	if c.Heads%c.KVHeads != 0 {
		return invalid("head_count %d is not a multiple of head_count_kv %d", c.Heads, c.KVHeads)
	}
	if c.HeadDimK != c.HeadDimV {
		// llama.cpp asserts the same for these architectures.
		return invalid("key_length %d differs from value_length %d", c.HeadDimK, c.HeadDimV)
	}
	if c.Rope.Dims > c.HeadDimK || c.Rope.Dims%2 != 0 {
		return invalid("rope.dimension_count %d must be even and at most key_length %d", c.Rope.Dims, c.HeadDimK)
	}
	if c.Arch == ArchLlama && c.Rope.Dims != c.HeadDimK {
		// llama.cpp refuses this too ("invalid n_rot").
		return invalid("rope.dimension_count %d differs from the head size %d", c.Rope.Dims, c.HeadDimK)
	}
	if f := c.Rope.Factors; f != nil && len(f) != c.Rope.Dims/2 {
		return invalid("rope_freqs has %d factors, want rope.dimension_count/2 = %d", len(f), c.Rope.Dims/2)
	}
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	switch {
	case !finite(c.RMSEps) || c.RMSEps < 0:
		return invalid("layer_norm_rms_epsilon %v must be a non-negative number", c.RMSEps)
	case !finite(c.Rope.FreqBase) || c.Rope.FreqBase <= 0:
		return invalid("rope.freq_base %v must be positive", c.Rope.FreqBase)
	case !finite(c.Rope.FreqScale) || c.Rope.FreqScale <= 0:
		return invalid("rope frequency scale %v must be positive", c.Rope.FreqScale)
	case !finite(c.AttnScale) || c.AttnScale <= 0:
		return invalid("attention scale %v must be positive", c.AttnScale)
	}
	for i, f := range c.Rope.Factors {
		if !finite(f) || f <= 0 {
			return invalid("rope_freqs[%d] = %v must be positive", i, f)
		}
	}
	return nil
}

// QDim is the width of all query heads together.
func (c *Config) QDim() int { return c.Heads * c.HeadDimK }

// KDim is the width of all key heads together.
func (c *Config) KDim() int { return c.KVHeads * c.HeadDimK }

// VDim is the width of all value heads together.
func (c *Config) VDim() int { return c.KVHeads * c.HeadDimV }

// AttnDim is the width of the attention output, before attn_output.
func (c *Config) AttnDim() int { return c.Heads * c.HeadDimV }
