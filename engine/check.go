package engine

import (
	"fmt"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/llm"
)

// Checked is what [Check] reads from a file that passes it.
type Checked struct {
	Config    ModelConfig
	Tokenizer *Tokenizer
	// Meta is the file's tokenizer metadata, the chat template included.
	Meta *gguf.Tokenizer
}

// Check validates an open GGUF file as [Load] does before it binds any
// weights: the tokenizer, the model's hyperparameters against its tensors
// (the hyperparameters), and the two against each other. Load runs it first,
// and `tether model inspect` runs it to report what serving the file
// would refuse. Nothing proportional to the model's dimensions is
// allocated before they are checked against the tensors. Problems are a
// one-line [*llm.ModelFileError] naming the file.
func Check(f *gguf.File) (*Checked, error) {
	tok, meta, err := FileTokenizer(f)
	if err != nil {
		return nil, err
	}
	cfg, err := model.Check(f)
	if err != nil {
		return nil, err
	}
	if tok.NumTokens() != cfg.Vocab {
		return nil, &llm.ModelFileError{Path: f.Path(), Reason: fmt.Sprintf("the tokenizer has %d tokens but token_embd.weight has %d rows", tok.NumTokens(), cfg.Vocab)}
	}
	return &Checked{Config: cfg, Tokenizer: tok, Meta: meta}, nil
}

// FileTokenizer builds a file's tokenizer as [Load] does. On error, meta
// is nil when the tokenizer metadata itself is unreadable, and set when
// only the tokenizer built from it is refused.
func FileTokenizer(f *gguf.File) (tok *Tokenizer, meta *gguf.Tokenizer, err error) {
	vocab, meta, err := vocabOf(f)
	if err != nil {
		return nil, nil, &llm.ModelFileError{Path: f.Path(), Reason: "bad tokenizer metadata", Err: err}
	}
	tok, err = tokenizer.New(vocab)
	if err != nil {
		return nil, meta, &llm.ModelFileError{Path: f.Path(), Reason: "bad tokenizer", Err: err}
	}
	return tok, meta, nil
}

// CheckMemory refuses options whose KV caches (every slot's, at the
// context length, after the defaults) and forward-pass buffers need more
// memory than the machine has: allocating them would end the process.
// Load runs it before making them; inspect runs it for the context it
// estimates.
func CheckMemory(f *gguf.File, cfg ModelConfig, opts Options) error {
	opts, err := opts.withDefaults(cfg)
	if err != nil {
		return err
	}
	cache := model.MulBytes(int64(opts.Parallel), model.KVCacheBytes(cfg, opts.ContextLength, opts.KVType))
	buffers := model.WorkspaceBytes(cfg, opts.Batch+opts.Parallel)
	need := model.AddBytes(cache, buffers)
	if have, ok := physicalMemory(); ok && need > have {
		return &llm.ModelFileError{Path: f.Path(), Reason: fmt.Sprintf(
			"needs %s of memory (a %s KV cache of %d slot(s) × %d tokens: %s; buffers for batches of %d tokens: %s), more than this machine's %s; lower the context length or the parallel slots",
			gib(need), opts.KVType, opts.Parallel, opts.ContextLength, gib(cache), opts.Batch+opts.Parallel, gib(buffers), gib(have))}
	}
	return nil
}

// gib formats a byte count in GiB for messages about memory.
func gib(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }
