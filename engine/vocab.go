package engine

import (
	"math"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
)

// vocabOf copies a file's tokenizer.ggml.* metadata into a tokenizer
// vocabulary, leaving llama.cpp's defaults to tokenizer.New.
func vocabOf(f *gguf.File) (tokenizer.Vocab, *gguf.Tokenizer, error) {
	g, err := f.Tokenizer()
	if err != nil {
		return tokenizer.Vocab{}, nil, err
	}
	v := tokenizer.EmptyVocab()
	v.Model, v.Pre, v.Tokens, v.Types, v.Scores, v.Merges = g.Model, g.Pre, g.Tokens, g.Types, g.Scores, g.Merges
	v.AddBOS, v.AddEOS, v.AddSpacePrefix = g.AddBOS, g.AddEOS, g.AddSpacePrefix
	v.Name, _ = gguf.GetOr(f, "general.name", "")
	v.Arch, _ = f.Architecture()

	// id returns the first of the named tokenizer.ggml.<name>_token_id
	// keys present; ids out of range are left to tokenizer.New to reject.
	id := func(names ...string) int32 {
		for _, n := range names {
			if x, ok := g.Special[n]; ok {
				if x < math.MinInt32 || x > math.MaxInt32 {
					return math.MaxInt32
				}
				return int32(x)
			}
		}
		return tokenizer.NoToken
	}
	v.BOS, v.EOS, v.EOT, v.EOM = id("bos"), id("eos"), id("eot"), id("eom")
	// llama.cpp spells the key "seperator".
	v.UNK, v.SEP, v.PAD, v.Mask = id("unknown"), id("seperator", "separator"), id("padding"), id("mask")
	v.FIMPre, v.FIMSuf, v.FIMMid = id("prefix", "fim_pre"), id("suffix", "fim_suf"), id("middle", "fim_mid")
	v.FIMPad, v.FIMRep, v.FIMSep = id("fim_pad"), id("fim_rep"), id("fim_sep")
	return v, g, nil
}
