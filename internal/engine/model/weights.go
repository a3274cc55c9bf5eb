package model

import "fmt"

// Linear is a weight matrix applied to activations: y = W·x, where W has
// Out rows of In columns, stored the way GGUF stores it (ne0 = In). An
// implementation may keep W quantised and may quantise x the way
// llama.cpp does before multiplying; it does its own parallelism.
// Implementations must be safe for concurrent use.
type Linear interface {
	In() int
	Out() int
	// MatVec sets dst[o] = Σ_i W[o][i]·x[i]; len(x) == In, len(dst) == Out.
	MatVec(dst, x []float32)
	// MatMul applies W to n rows: x is n×In and dst n×Out, row-major.
	MatMul(dst, x []float32, n int)
}

// Embedding is a table of rows, such as token_embd, read one row at a
// time. Implementations must be safe for concurrent use.
type Embedding interface {
	// Rows is the number of rows (the vocabulary size for token_embd).
	Rows() int
	// Cols is the width of a row (the embedding length).
	Cols() int
	// Row dequantises row i into dst (len Cols).
	Row(dst []float32, i int)
}

// Weights are the tensors of a model, bound by llama.cpp's names.
type Weights struct {
	TokenEmbd  Embedding // token_embd.weight
	OutputNorm []float32 // output_norm.weight
	// Output is output.weight, or token_embd.weight itself for models
	// with tied embeddings.
	Output Linear
	Layers []Layer
}

// Layer holds the tensors of one block (blk.N.*). Biases and the q/k
// norms are nil when the file has none.
type Layer struct {
	AttnNorm            []float32 // attn_norm.weight
	Q, K, V             Linear    // attn_q/k/v.weight
	QBias, KBias, VBias []float32 // attn_q/k/v.bias (qwen2)
	QNorm, KNorm        []float32 // attn_q_norm/attn_k_norm.weight (qwen3), per head
	O                   Linear    // attn_output.weight
	OBias               []float32 // attn_output.bias
	FFNNorm             []float32 // ffn_norm.weight
	Gate, Up, Down      Linear    // ffn_gate/up/down.weight
}

// check reports the first tensor whose shape does not fit c.
func (w *Weights) check(c *Config) error {
	if w.TokenEmbd == nil {
		return invalid("token_embd.weight is missing")
	}
	if w.TokenEmbd.Rows() != c.Vocab || w.TokenEmbd.Cols() != c.Embd {
		return invalid("token_embd.weight is %dx%d, want %dx%d (vocab x embedding)",
			w.TokenEmbd.Rows(), w.TokenEmbd.Cols(), c.Vocab, c.Embd)
	}
	if err := vec("output_norm.weight", w.OutputNorm, c.Embd, true); err != nil {
		return err
	}
	if err := mat("output.weight", w.Output, c.Embd, c.Vocab); err != nil {
		return err
	}
	if len(w.Layers) != c.Layers {
		return invalid("%d layers of weights for block_count %d", len(w.Layers), c.Layers)
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		checks := []error{
			vec(name("attn_norm.weight"), l.AttnNorm, c.Embd, true),
			mat(name("attn_q.weight"), l.Q, c.Embd, c.QDim()),
			mat(name("attn_k.weight"), l.K, c.Embd, c.KDim()),
			mat(name("attn_v.weight"), l.V, c.Embd, c.VDim()),
			vec(name("attn_q.bias"), l.QBias, c.QDim(), false),
			vec(name("attn_k.bias"), l.KBias, c.KDim(), false),
			vec(name("attn_v.bias"), l.VBias, c.VDim(), false),
			vec(name("attn_q_norm.weight"), l.QNorm, c.HeadDimK, c.Arch == ArchQwen3),
			vec(name("attn_k_norm.weight"), l.KNorm, c.HeadDimK, c.Arch == ArchQwen3),
			mat(name("attn_output.weight"), l.O, c.AttnDim(), c.Embd),
			vec(name("attn_output.bias"), l.OBias, c.Embd, false),
			vec(name("ffn_norm.weight"), l.FFNNorm, c.Embd, true),
			mat(name("ffn_gate.weight"), l.Gate, c.Embd, c.FF),
			mat(name("ffn_up.weight"), l.Up, c.Embd, c.FF),
			mat(name("ffn_down.weight"), l.Down, c.FF, c.Embd),
		}
		for _, err := range checks {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func vec(name string, v []float32, n int, required bool) error {
	switch {
	case v == nil && required:
		return invalid("%s is missing", name)
	case v != nil && len(v) != n:
		return invalid("%s has %d values, want %d", name, len(v), n)
	}
	return nil
}

func mat(name string, m Linear, in, out int) error {
	switch {
	case m == nil:
		return invalid("%s is missing", name)
	case m.In() != in || m.Out() != out:
		return invalid("%s is [%d, %d], want [%d, %d] (ne0 = inputs, ne1 = outputs)", name, m.In(), m.Out(), in, out)
	}
	return nil
}
