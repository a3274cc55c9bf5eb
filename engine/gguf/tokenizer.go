package gguf

import (
	"fmt"
	"strings"
)

// Tokenizer is the tokenizer metadata of a model file, as stored under
// tokenizer.ggml.* and tokenizer.chat_template. It only gathers and checks
// the arrays; building a tokenizer from it is another package's job.
type Tokenizer struct {
	// Model is tokenizer.ggml.model: "gpt2" (byte-level BPE), "llama"
	// (SentencePiece), ...
	Model string
	// Pre is tokenizer.ggml.pre, the pre-tokenizer ("qwen2", "llama-bpe",
	// ...); empty when absent.
	Pre string
	// Tokens is tokenizer.ggml.tokens, the text of every token id.
	Tokens []string
	// Types is tokenizer.ggml.token_type (1 normal, 2 unknown, 3 control,
	// 4 user-defined, 5 unused, 6 byte); nil when absent.
	Types []int32
	// Scores is tokenizer.ggml.scores; nil when absent.
	Scores []float32
	// Merges is tokenizer.ggml.merges ("a b" pairs); nil when absent.
	Merges []string
	// Special maps the X of every tokenizer.ggml.X_token_id key ("bos",
	// "eos", "eot", "padding", "unknown", ...) to its token id.
	Special map[string]int64
	// AddBOS, AddEOS and AddSpacePrefix are tokenizer.ggml.add_bos_token,
	// add_eos_token and add_space_prefix; nil when absent.
	AddBOS, AddEOS, AddSpacePrefix *bool
	// ChatTemplate is tokenizer.chat_template; empty when absent.
	ChatTemplate string
}

// Tokenizer reads the tokenizer metadata. tokenizer.ggml.model and
// tokenizer.ggml.tokens are required, the per-token arrays must be as long
// as the token list, and every key must have its usual type.
func (f *File) Tokenizer() (*Tokenizer, error) {
	t := &Tokenizer{Special: map[string]int64{}}
	var err error
	if t.Model, err = Get[string](f, "tokenizer.ggml.model"); err != nil {
		return nil, err
	}
	if t.Pre, err = GetOr(f, "tokenizer.ggml.pre", ""); err != nil {
		return nil, err
	}
	if t.Tokens, err = Get[[]string](f, "tokenizer.ggml.tokens"); err != nil {
		return nil, err
	}
	if t.Types, err = GetOr[[]int32](f, "tokenizer.ggml.token_type", nil); err != nil {
		return nil, err
	}
	if t.Scores, err = GetOr[[]float32](f, "tokenizer.ggml.scores", nil); err != nil {
		return nil, err
	}
	if t.Merges, err = GetOr[[]string](f, "tokenizer.ggml.merges", nil); err != nil {
		return nil, err
	}
	if t.ChatTemplate, err = GetOr(f, "tokenizer.chat_template", ""); err != nil {
		return nil, err
	}
	n := len(t.Tokens)
	if t.Types != nil && len(t.Types) != n {
		return nil, fmt.Errorf("gguf: %s: tokenizer.ggml.token_type has %d entries for %d tokens", f.path, len(t.Types), n)
	}
	if t.Scores != nil && len(t.Scores) != n {
		return nil, fmt.Errorf("gguf: %s: tokenizer.ggml.scores has %d entries for %d tokens", f.path, len(t.Scores), n)
	}
	for _, kv := range f.kvs {
		name, ok := strings.CutPrefix(kv.Key, "tokenizer.ggml.")
		if !ok {
			continue
		}
		if special, ok := strings.CutSuffix(name, "_token_id"); ok {
			id, err := f.Int(kv.Key)
			if err != nil {
				return nil, err
			}
			t.Special[special] = id
		}
	}
	for _, b := range []struct {
		key string
		dst **bool
	}{
		{"tokenizer.ggml.add_bos_token", &t.AddBOS},
		{"tokenizer.ggml.add_eos_token", &t.AddEOS},
		{"tokenizer.ggml.add_space_prefix", &t.AddSpacePrefix},
	} {
		if !f.Has(b.key) {
			continue
		}
		v, err := Get[bool](f, b.key)
		if err != nil {
			return nil, err
		}
		*b.dst = &v
	}
	return t, nil
}
