package synth

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/quant"
)

// Options choose a synthetic model. The zero Options with a Shape from
// NamedShape or Tiny is valid: F32 weights, seed 0.
type Options struct {
	Shape Shape
	// Type is the type of the 2-D weight matrices; norms, biases and
	// rope factors stay F32, as llama.cpp's converters keep them.
	Type gguf.TensorType
	// Seed picks the random weights; the vocabulary does not depend on it.
	Seed uint64
	// ToolCall plants a tool call: greedy decoding after any prompt that
	// ends in a newline token (every generation prompt of the three
	// templates does) writes Model.ToolCallText and ends the turn. It
	// needs an untied output (Shape.Tie false).
	ToolCall bool
	// Name is general.name; "" names the shape, type and seed.
	Name string

	// The fields below let a caller write a model of its own making with
	// this writer — a test's hand-made vocabulary, template or weights —
	// rather than a second GGUF writer.

	// Vocab, if set, is written instead of the vocabulary generated for
	// the shape; Shape.Template then only names the default template.
	// Tool-call mode, which plants rows of its own vocabulary, cannot be
	// used with it, nor with Weights.
	Vocab *Vocab
	// Template, if set, is tokenizer.chat_template instead of the
	// official template of Shape.Template.
	Template string
	// Weights, if set, gives the values of every tensor instead of the
	// random generator: row r of the tensor named name, len(dst) values,
	// before quantisation.
	Weights func(name string, row int, dst []float32)
}

// Model is a planned synthetic model: its vocabulary, template and tensor
// list. Tensor data is generated while the file is written, row by row,
// so a model of a real shape needs little memory.
type Model struct {
	opts     Options
	vocab    *Vocab
	template string
	tensors  []tensorSpec
	// chain holds the output rows tool-call mode plants, by token id.
	chain map[int][]float32
}

// New plans a model.
func New(o Options) (*Model, error) {
	s := o.Shape
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !o.Type.Supported() {
		return nil, fmt.Errorf("synth: tensor type %s is not supported (supported: %s)", o.Type, typeNames())
	}
	if o.ToolCall && s.Tie {
		return nil, fmt.Errorf("synth: tool-call mode needs an untied output (output.weight), but the shape ties it to token_embd")
	}
	if o.ToolCall && (o.Vocab != nil || o.Weights != nil) {
		return nil, fmt.Errorf("synth: tool-call mode plants its own vocabulary and weights")
	}
	v := o.Vocab
	if v == nil {
		var err error
		if v, err = NewVocab(s); err != nil {
			return nil, err
		}
	}
	tmpl := o.Template
	if tmpl == "" {
		var err error
		if tmpl, err = ChatTemplate(s.Template); err != nil {
			return nil, err
		}
	}
	m := &Model{opts: o, vocab: v, template: tmpl}
	if m.opts.Name == "" {
		m.opts.Name = fmt.Sprintf("tether synthetic %s %s %s seed %d", s.Name, s.Arch, o.Type, o.Seed)
		if o.ToolCall {
			m.opts.Name += " tool-call"
		}
	}
	m.plan()
	if o.ToolCall {
		m.plantChain()
	}
	return m, nil
}

// Types lists the weight types the generator writes.
func Types() []gguf.TensorType {
	return []gguf.TensorType{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
		quant.Q4_K, quant.Q5_K, quant.Q6_K}
}

func typeNames() string {
	s := ""
	for i, t := range Types() {
		if i > 0 {
			s += ", "
		}
		s += t.String()
	}
	return s
}

// Options returns the options, with the default name filled in.
func (m *Model) Options() Options { return m.opts }

// Vocab returns the vocabulary.
func (m *Model) Vocab() *Vocab { return m.vocab }

// ChatTemplate returns the tokenizer.chat_template text.
func (m *Model) ChatTemplate() string { return m.template }

// ToolCallText is what greedy decoding writes in tool-call mode before
// the end of the turn: a Hermes <tool_call> block for the Qwen templates,
// a bare {"name", "parameters"} object for Llama 3.
func (m *Model) ToolCallText() string {
	var s string
	for _, id := range m.vocab.Chain {
		if id == m.vocab.EndOfTurn {
			break
		}
		if b, ok := m.vocab.Bytes(id); ok {
			s += string(b)
		} else {
			s += m.vocab.Tokens[id]
		}
	}
	return s
}

// Tensor describes one tensor of the file.
type Tensor struct {
	Name  string
	Type  gguf.TensorType
	Shape []uint64 // ne0 first
	Bytes uint64
}

// Tensors lists the tensors in file order.
func (m *Model) Tensors() []Tensor {
	out := make([]Tensor, len(m.tensors))
	for i, t := range m.tensors {
		n, _ := t.typ.RowBytes(t.ne0)
		out[i] = Tensor{Name: t.name, Type: t.typ, Shape: t.shape(), Bytes: uint64(n) * uint64(t.rows)}
	}
	return out
}

// WeightType is the type a matrix of rows of ne0 elements gets when t is
// asked for, as llama.cpp's quantizer decides it: a K-quant whose 256
// does not divide ne0 falls back to Q5_0 (for Q4_K), Q5_1 (Q5_K) or Q8_0
// (Q6_K), and to F16 if that does not fit either. llama.cpp refuses the
// 32-element types on rows they do not divide; here they fall back to
// F16 too.
func WeightType(t gguf.TensorType, ne0 int) gguf.TensorType {
	if ne0%t.BlockSize() == 0 {
		return t
	}
	switch t {
	case quant.Q4_K:
		t = quant.Q5_0
	case quant.Q5_K:
		t = quant.Q5_1
	case quant.Q6_K:
		t = quant.Q8_0
	default:
		return quant.F16
	}
	if ne0%t.BlockSize() != 0 {
		return quant.F16
	}
	return t
}

// fileType is general.file_type (llama_ftype) for a file whose matrices
// are mostly t.
func fileType(t gguf.TensorType) uint32 {
	switch t {
	case quant.F32:
		return 0
	case quant.F16:
		return 1
	case quant.Q4_0:
		return 2
	case quant.Q4_1:
		return 3
	case quant.Q8_0:
		return 7
	case quant.Q5_0:
		return 8
	case quant.Q5_1:
		return 9
	case quant.Q4_K:
		return 14 // Q4_K_S
	case quant.Q5_K:
		return 16 // Q5_K_S
	case quant.Q6_K:
		return 18
	case quant.BF16:
		return 32
	}
	return 0
}

// Writer lays the model out as a GGUF writer; tensor data is generated
// when it writes.
func (m *Model) Writer() (*gguf.Writer, error) {
	w := gguf.NewWriter()
	for _, kv := range m.metadata() {
		if err := w.Set(kv.key, kv.val); err != nil {
			return nil, err
		}
	}
	for i := range m.tensors {
		t := &m.tensors[i]
		if err := w.AddTensorFunc(t.name, t.typ, t.shape(), func(out io.Writer) error { return m.writeTensor(out, t) }); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// WriteTo writes the GGUF file to w.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	gw, err := m.Writer()
	if err != nil {
		return 0, err
	}
	return gw.WriteTo(w)
}

// WriteFile writes the GGUF file to path, readable by all like any model
// file. It writes a temporary file in the same directory and renames it
// into place, so a failed or cancelled write (ctx is checked between
// writes) leaves nothing behind.
func (m *Model) WriteFile(ctx context.Context, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := m.WriteTo(ctxWriter{ctx, tmp}); err != nil {
		tmp.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("synth: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// ctxWriter fails writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Write plans a model and writes it to path.
func Write(ctx context.Context, path string, o Options) (*Model, error) {
	m, err := New(o)
	if err != nil {
		return nil, err
	}
	return m, m.WriteFile(ctx, path)
}

type kv struct {
	key string
	val any
}

func (m *Model) metadata() []kv {
	s, v, a := m.opts.Shape, m.vocab, m.opts.Shape.Arch
	kvs := []kv{
		{"general.architecture", a},
		{"general.name", m.opts.Name},
		{"general.file_type", fileType(m.opts.Type)},
		{"general.quantization_version", uint32(2)},
		{"general.alignment", uint32(gguf.DefaultAlignment)},
		{a + ".context_length", uint32(s.Context)},
		{a + ".embedding_length", uint32(s.Embd)},
		{a + ".block_count", uint32(s.Layers)},
		{a + ".feed_forward_length", uint32(s.FF)},
		{a + ".attention.head_count", uint32(s.Heads)},
		{a + ".attention.head_count_kv", uint32(s.KVHeads)},
		{a + ".attention.key_length", uint32(s.HeadDim)},
		{a + ".attention.value_length", uint32(s.HeadDim)},
		{a + ".attention.layer_norm_rms_epsilon", s.RMSEps},
		{a + ".rope.freq_base", s.RopeBase},
		{a + ".rope.dimension_count", uint32(s.HeadDim)},
		{a + ".vocab_size", uint32(len(v.Tokens))},
		{"tokenizer.ggml.model", v.Model},
		{"tokenizer.ggml.pre", v.Pre},
		{"tokenizer.ggml.tokens", v.Tokens},
		{"tokenizer.ggml.token_type", v.Types},
		{"tokenizer.ggml.merges", v.Merges},
		{"tokenizer.ggml.bos_token_id", uint32(v.BOS)},
		{"tokenizer.ggml.eos_token_id", uint32(v.EOS)},
	}
	if v.PAD >= 0 {
		kvs = append(kvs, kv{"tokenizer.ggml.padding_token_id", uint32(v.PAD)})
	}
	kvs = append(kvs,
		kv{"tokenizer.ggml.add_bos_token", v.AddBOS},
		kv{"tokenizer.ggml.add_eos_token", false},
		kv{"tokenizer.chat_template", m.template},
	)
	return kvs
}

// llama3RopeFactors are the per-pair divisors of Llama 3.1's "llama3"
// rope scaling, as convert_hf_to_gguf.py computes them (factor 32 and the
// other parameters of Llama 3.2's config).
func llama3RopeFactors(headDim int, base float32) []float32 {
	const (
		factor, lowFreqFactor, highFreqFactor = 32.0, 1.0, 4.0
		oldContext                            = 8192.0
	)
	lowWavelen, highWavelen := oldContext/lowFreqFactor, oldContext/highFreqFactor
	out := make([]float32, headDim/2)
	for i := range out {
		freq := 1 / math.Pow(float64(base), float64(2*i)/float64(headDim))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = factor
		default:
			smooth := (oldContext/wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}
