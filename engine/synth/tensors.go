package synth

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/quant"
)

// tensorKind says how a tensor's values are drawn.
type tensorKind int

const (
	kindMatrix     tensorKind = iota // N(0, scale/sqrt(ne0))
	kindEmbedding                    // token_embd
	kindOutput                       // output.weight
	kindNorm                         // 1 + N(0, 0.1)
	kindBias                         // N(0, 0.2)
	kindRopeFactor                   // Llama 3 rope_freqs
)

type tensorSpec struct {
	name  string
	typ   gguf.TensorType
	ne0   int // elements per row
	rows  int // 1 for vectors
	kind  tensorKind
	scale float32
}

func (t *tensorSpec) shape() []uint64 {
	if t.rows == 1 && t.kind != kindMatrix && t.kind != kindEmbedding && t.kind != kindOutput {
		return []uint64{uint64(t.ne0)}
	}
	return []uint64{uint64(t.ne0), uint64(t.rows)}
}

// Scales of the random weights. Embeddings are N(0, 1); the output
// matrix is N(0, outputStd/sqrt(n_embd)), so that logits (the RMS-normed
// hidden state, of length about sqrt(n_embd), times a row) spread with a
// standard deviation of about outputStd. A tied embedding takes the
// output's scale instead, for the same logits; RMS norm makes its scale
// irrelevant as an input.
const (
	outputStd = 4
	// tiedMask scales the rows of tokens greedy decoding must not produce
	// when the output is tied to token_embd, where they cannot be zero
	// (the tokens are inputs too): their logits shrink to about ±0.5
	// while the best printable token's is about +12.
	tiedMask = 0.125
	// chainGain is the length of a planted output row: the logit of the
	// planted next token is about chainGain·sqrt(n_embd), against about
	// outputStd·3 for the best random one.
	chainGain = 5
	// toolCallDamp scales attn_output and ffn_down in tool-call mode (by
	// toolCallDamp·sqrt(2/layers)), so that the hidden state stays close
	// to the last token's embedding and the planted rows win.
	toolCallDamp = 0.1
)

// plan lists the tensors in the order llama.cpp's converters write them.
func (m *Model) plan() {
	s, typ := m.opts.Shape, m.opts.Type
	nv := len(m.vocab.Tokens)
	mat := func(name string, in, out int, scale float32) {
		m.tensors = append(m.tensors, tensorSpec{name: name, typ: WeightType(typ, in), ne0: in, rows: out, kind: kindMatrix, scale: scale})
	}
	vec := func(name string, n int, kind tensorKind) {
		m.tensors = append(m.tensors, tensorSpec{name: name, typ: quant.F32, ne0: n, rows: 1, kind: kind})
	}
	embScale := float32(1)
	if s.Tie {
		embScale = outputStd / float32(math.Sqrt(float64(s.Embd)))
	}
	m.tensors = append(m.tensors, tensorSpec{name: "token_embd.weight", typ: WeightType(typ, s.Embd), ne0: s.Embd, rows: nv, kind: kindEmbedding, scale: embScale})
	if s.Llama3Rope {
		vec("rope_freqs.weight", s.HeadDim/2, kindRopeFactor)
	}
	damp := float32(1)
	if m.opts.ToolCall {
		damp = toolCallDamp * float32(math.Sqrt(2/float64(s.Layers)))
	}
	for l := range s.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		vec(p+"attn_norm.weight", s.Embd, kindNorm)
		mat(p+"attn_q.weight", s.Embd, s.QDim(), 1)
		mat(p+"attn_k.weight", s.Embd, s.KVDim(), 1)
		mat(p+"attn_v.weight", s.Embd, s.KVDim(), 1)
		if s.Arch == ArchQwen2 {
			vec(p+"attn_q.bias", s.QDim(), kindBias)
			vec(p+"attn_k.bias", s.KVDim(), kindBias)
			vec(p+"attn_v.bias", s.KVDim(), kindBias)
		}
		if s.Arch == ArchQwen3 {
			vec(p+"attn_q_norm.weight", s.HeadDim, kindNorm)
			vec(p+"attn_k_norm.weight", s.HeadDim, kindNorm)
		}
		mat(p+"attn_output.weight", s.QDim(), s.Embd, damp)
		vec(p+"ffn_norm.weight", s.Embd, kindNorm)
		mat(p+"ffn_gate.weight", s.Embd, s.FF, 1)
		mat(p+"ffn_up.weight", s.Embd, s.FF, 1)
		mat(p+"ffn_down.weight", s.FF, s.Embd, damp)
	}
	vec("output_norm.weight", s.Embd, kindNorm)
	if !s.Tie {
		m.tensors = append(m.tensors, tensorSpec{name: "output.weight", typ: WeightType(typ, s.Embd), ne0: s.Embd, rows: nv, kind: kindOutput, scale: outputStd / float32(math.Sqrt(float64(s.Embd)))})
	}
}

// spec returns the named tensor's spec.
func (m *Model) spec(name string) *tensorSpec {
	for i := range m.tensors {
		if m.tensors[i].name == name {
			return &m.tensors[i]
		}
	}
	return nil
}

// plantChain sets the output rows of the tool-call chain: each token's
// row points along the (unit) embedding of the token before it, the
// first along every newline token's.
func (m *Model) plantChain() {
	emb := m.spec("token_embd.weight")
	n := emb.ne0
	m.chain = map[int][]float32{}
	unitEmb := func(id int32, acc []float32) {
		e := make([]float32, n)
		m.drawRow(emb, int(id), e)
		var ss float64
		for _, x := range e {
			ss += float64(x) * float64(x)
		}
		inv := float32(1 / math.Sqrt(ss))
		for i, x := range e {
			acc[i] += chainGain * x * inv
		}
	}
	first := make([]float32, n)
	for id := range m.vocab.Tokens {
		if m.vocab.Newline(int32(id)) {
			unitEmb(int32(id), first)
		}
	}
	chain := m.vocab.Chain
	m.chain[int(chain[0])] = first
	for i := 1; i < len(chain); i++ {
		row := make([]float32, n)
		unitEmb(chain[i-1], row)
		m.chain[int(chain[i])] = row
	}
}

// rng returns the random stream of one row of one tensor: every row has
// its own, so rows can be drawn in any order and in parallel.
func (m *Model) rng(t *tensorSpec, row int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(t.name))
	return rand.New(rand.NewPCG(m.opts.Seed^h.Sum64(), uint64(row)))
}

// drawRow fills dst (len t.ne0) with row r of t's values, before
// quantisation.
func (m *Model) drawRow(t *tensorSpec, r int, dst []float32) {
	if m.opts.Weights != nil {
		m.opts.Weights(t.name, r, dst)
		return
	}
	switch t.kind {
	case kindRopeFactor:
		copy(dst, llama3RopeFactors(m.opts.Shape.HeadDim, m.opts.Shape.RopeBase))
		return
	case kindOutput:
		if row, ok := m.chain[r]; ok {
			copy(dst, row)
			return
		}
		if !m.vocab.Printable(int32(r)) {
			clear(dst)
			return
		}
	}
	g := m.rng(t, r)
	switch t.kind {
	case kindNorm:
		for i := range dst {
			dst[i] = 1 + 0.1*float32(g.NormFloat64())
		}
	case kindBias:
		for i := range dst {
			dst[i] = 0.2 * float32(g.NormFloat64())
		}
	case kindMatrix:
		std := t.scale / float32(math.Sqrt(float64(t.ne0)))
		for i := range dst {
			dst[i] = std * float32(g.NormFloat64())
		}
	case kindEmbedding, kindOutput:
		std := t.scale
		if t.kind == kindEmbedding && m.opts.Shape.Tie && !m.vocab.Printable(int32(r)) {
			std *= tiedMask
		}
		for i := range dst {
			dst[i] = std * float32(g.NormFloat64())
		}
	}
}

// writeTensor draws, quantises and writes t's rows in order, drawing
// chunks of rows in parallel.
func (m *Model) writeTensor(w io.Writer, t *tensorSpec) error {
	rowBytes, err := t.typ.RowBytes(t.ne0)
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	chunk := max(1, (256<<10)/(t.ne0*4))
	buf := make([]byte, workers*chunk*rowBytes)
	scratch := make([][]float32, workers)
	for i := range scratch {
		scratch[i] = make([]float32, t.ne0)
	}
	for start := 0; start < t.rows; start += workers * chunk {
		end := min(t.rows, start+workers*chunk)
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for k := range workers {
			lo := start + k*chunk
			if lo >= end {
				break
			}
			hi := min(end, lo+chunk)
			wg.Go(func() {
				f := scratch[k]
				for r := lo; r < hi; r++ {
					m.drawRow(t, r, f)
					off := (r - start) * rowBytes
					if err := quant.Quantize(t.typ, buf[off:off+rowBytes], f); err != nil {
						errs[k] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		if _, err := w.Write(buf[:(end-start)*rowBytes]); err != nil {
			return err
		}
	}
	return nil
}
