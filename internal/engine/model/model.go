package model

import (
	"context"
	"fmt"

	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

// Options tune how a model runs; the zero value is good.
type Options struct {
	// Threads is how many goroutines run a forward pass (weight
	// products and attention, on one pool); 0 means GOMAXPROCS.
	Threads int
}

// Model is a loaded transformer. Its methods are safe for concurrent use
// as long as each call has its own [Workspace] and [Cache], though the
// parallel parts of concurrent calls take turns.
type Model struct {
	cfg  Config
	w    Weights
	rope *rotary
	// pool runs the model's parallel work: attention, and the weight
	// products of a model from Load, whose matrices are bound to it.
	pool *quant.Pool
	// fused lists, per layer, the quant matrices that share an input,
	// for decoding them in one hand-over (nil when the weights are not
	// quant's).
	fused []fusedLayer
}

type fusedLayer struct {
	qkv    [3]*quant.Matrix
	gateUp [2]*quant.Matrix
}

// fuse finds the quant matrices of every layer; it gives up if any is
// another kind.
func (m *Model) fuse() {
	fused := make([]fusedLayer, len(m.w.Layers))
	for i := range m.w.Layers {
		l := &m.w.Layers[i]
		for j, lin := range []Linear{l.Q, l.K, l.V, l.Gate, l.Up} {
			q, ok := lin.(*quant.Matrix)
			if !ok {
				return
			}
			if j < 3 {
				fused[i].qkv[j] = q
			} else {
				fused[i].gateUp[j-3] = q
			}
		}
	}
	m.fused = fused
}

// New checks the weights against cfg and returns a model over them.
func New(cfg Config, w Weights, opts Options) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := w.check(&cfg); err != nil {
		return nil, err
	}
	return withPool(cfg, w, quant.NewPool(opts.Threads)), nil
}

func withPool(cfg Config, w Weights, pool *quant.Pool) *Model {
	return &Model{cfg: cfg, w: w, rope: newRotary(cfg.Rope), pool: pool}
}

// Config returns the model's hyperparameters.
func (m *Model) Config() Config { return m.cfg }

// Close stops the model's worker goroutines. A closed model still works,
// on one goroutine. Closing does not close the file a model was loaded
// from.
func (m *Model) Close() {
	m.pool.Close()
}

// Eval runs tokens through the model as the next tokens of the sequence
// in c and returns the logits that follow the last one. Prompts longer
// than the workspace's batch are processed a batch at a time. The logits
// belong to ws and are overwritten by its next use.
//
// If the tokens do not fit in c, Eval returns a
// [*llm.ContextOverflowError] and changes nothing. On any error,
// including ctx's cancellation (checked between layers), c is left as it
// was before the call.
func (m *Model) Eval(ctx context.Context, ws *Workspace, c *Cache, tokens []int32) ([]float32, error) {
	if err := m.evalSeq(ctx, ws, c, tokens, nil); err != nil {
		return nil, err
	}
	return ws.logits, nil
}

// EvalAll is [Model.Eval] returning the logits after every token: row i
// of dst (len(tokens)×Vocab) follows tokens[i].
func (m *Model) EvalAll(ctx context.Context, ws *Workspace, c *Cache, tokens []int32, dst []float32) error {
	if len(dst) != len(tokens)*m.cfg.Vocab {
		return fmt.Errorf("model: EvalAll needs %d×%d logits, got %d", len(tokens), m.cfg.Vocab, len(dst))
	}
	return m.evalSeq(ctx, ws, c, tokens, dst)
}

// EvalBatch advances several sequences by one token each in one pass, so
// that the weights are read once for all of them: tokens[i] is the next
// token of caches[i], and row i of dst (len(caches)×Vocab) receives the
// logits that follow it. The caches must be distinct; there must be no
// more than the workspace's batch of them. On error no cache changes.
func (m *Model) EvalBatch(ctx context.Context, ws *Workspace, caches []*Cache, tokens []int32, dst []float32) error {
	if len(caches) != len(tokens) {
		return fmt.Errorf("model: EvalBatch got %d caches and %d tokens", len(caches), len(tokens))
	}
	steps := ws.steps[:0]
	for i, c := range caches {
		steps = append(steps, Step{Cache: c, Tokens: tokens[i : i+1], Logits: true})
	}
	ws.steps = steps[:0]
	return m.EvalSteps(ctx, ws, steps, dst)
}

// Step is one sequence's part of a pass of [Model.EvalSteps]: Tokens are
// the next tokens of the sequence in Cache.
type Step struct {
	Cache  *Cache
	Tokens []int32
	// Logits asks for the logits that follow the last token.
	Logits bool
}

// EvalSteps advances several sequences in one pass, each by its own
// number of tokens — the next token of every sequence being decoded and
// a chunk of another's prompt, say — so that the weights are read once
// for all of them. dst receives one row of Vocab logits for each step
// that asks for them, in order. The caches must be distinct and the
// tokens, all together, no more than the workspace's batch. Each
// sequence's arithmetic is the same as if it were evaluated alone. On
// error, including ctx's end (checked between layers), no cache changes.
func (m *Model) EvalSteps(ctx context.Context, ws *Workspace, steps []Step, dst []float32) error {
	total, want := 0, 0
	for _, st := range steps {
		total += len(st.Tokens)
		if st.Logits {
			want++
		}
	}
	if len(dst) != want*m.cfg.Vocab {
		return fmt.Errorf("model: EvalSteps needs %d×%d logits, got %d", want, m.cfg.Vocab, len(dst))
	}
	if err := m.checkWorkspace(ws, total); err != nil {
		return err
	}
	rows := ws.rows[:0]
	for i, st := range steps {
		if err := m.checkCache(ws, st.Cache, st.Tokens); err != nil {
			return err
		}
		for _, other := range steps[:i] {
			if other.Cache == st.Cache {
				return fmt.Errorf("model: EvalSteps got the same cache twice")
			}
		}
		for j, tok := range st.Tokens {
			rows = append(rows, row{cache: st.Cache, pos: st.Cache.n + j, tok: tok, logits: st.Logits && j == len(st.Tokens)-1})
		}
	}
	if err := m.forward(ctx, ws, rows, dst); err != nil {
		return err
	}
	for _, st := range steps {
		st.Cache.n += len(st.Tokens)
	}
	return nil
}

func (m *Model) evalSeq(ctx context.Context, ws *Workspace, c *Cache, tokens []int32, all []float32) error {
	if err := m.checkWorkspace(ws, 1); err != nil {
		return err
	}
	if err := m.checkCache(ws, c, tokens); err != nil {
		return err
	}
	start := c.n
	vocab := m.cfg.Vocab
	for off := 0; off < len(tokens); off += ws.batch {
		chunk := tokens[off:min(off+ws.batch, len(tokens))]
		last := off+len(chunk) == len(tokens)
		rows := ws.rows[:len(chunk)]
		for i, tok := range chunk {
			rows[i] = row{cache: c, pos: c.n + i, tok: tok, logits: all != nil || (last && i == len(chunk)-1)}
		}
		dst := ws.logits
		if all != nil {
			dst = all[off*vocab : (off+len(chunk))*vocab]
		}
		if err := m.forward(ctx, ws, rows, dst); err != nil {
			c.n = start
			return err
		}
		c.n += len(chunk)
	}
	return nil
}

func (m *Model) checkWorkspace(ws *Workspace, rows int) error {
	switch {
	case ws == nil || ws.m != m:
		return fmt.Errorf("model: workspace was not made by this model")
	case rows > ws.batch:
		return fmt.Errorf("model: %d rows exceed the workspace batch of %d", rows, ws.batch)
	}
	return nil
}

func (m *Model) checkCache(ws *Workspace, c *Cache, tokens []int32) error {
	switch {
	case c == nil || c.layers != m.cfg.Layers || c.kvHeads != m.cfg.KVHeads || c.dimK != m.cfg.HeadDimK || c.dimV != m.cfg.HeadDimV:
		return fmt.Errorf("model: cache was not made by this model")
	case len(tokens) == 0:
		return fmt.Errorf("model: no tokens to evaluate")
	case c.n+len(tokens) > c.capacity:
		return &llm.ContextOverflowError{Required: c.n + len(tokens), Available: c.capacity}
	}
	for _, t := range tokens {
		if t < 0 || int(t) >= m.cfg.Vocab {
			return fmt.Errorf("model: token id %d is outside the vocabulary [0, %d)", t, m.cfg.Vocab)
		}
	}
	ws.fitCache(c.capacity)
	return nil
}
