package engine

import (
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
)

// The engine's insides live under internal/; these are the few of their
// types its API carries, named here so that callers can name them too.
type (
	// KVType is the element type of the KV caches ([Options.KVType]).
	KVType = model.KVType
	// Arch is a model architecture ([Info.Arch]).
	Arch = model.Arch
	// ModelConfig is a model's hyperparameters, as [Check] reads them.
	ModelConfig = model.Config
	// Tokenizer is a model's tokenizer ([Engine.Tokenizer]).
	Tokenizer = tokenizer.Tokenizer
)

// The KV cache types.
const (
	// KVF16 stores keys and values as half floats, as llama.cpp does by
	// default. It is the default.
	KVF16 = model.KVF16
	// KVF32 stores them as float32: twice the memory, no rounding.
	KVF32 = model.KVF32
)

// The architectures the engine runs.
const (
	ArchLlama = model.ArchLlama
	ArchQwen2 = model.ArchQwen2
	ArchQwen3 = model.ArchQwen3
)
