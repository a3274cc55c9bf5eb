package model

import (
	"context"
	"errors"
	"github.com/tetherllm/tether/internal/engine/quant"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func newModel(t testing.TB, v variant) *Model {
	t.Helper()
	cfg, w := v.build(1)
	m, err := New(cfg, w, Options{Threads: 2})
	if err != nil {
		t.Fatalf("New(%s): %v", v.name, err)
	}
	t.Cleanup(m.Close)
	return m
}

func newCache(t testing.TB, m *Model, capacity int, typ KVType) *Cache {
	t.Helper()
	c, err := m.NewCache(capacity, typ)
	if err != nil {
		t.Fatalf("NewCache: %v", err)
	}
	return c
}

func newWorkspace(t testing.TB, m *Model, batch int) *Workspace {
	t.Helper()
	ws, err := m.NewWorkspace(batch)
	if err != nil {
		t.Fatalf("NewWorkspace: %v", err)
	}
	return ws
}

func randomTokens(seed uint64, n, vocab int) []int32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(vocab))
	}
	return out
}

// evalAll returns the logits after every token, computed in one pass.
func evalAll(t testing.TB, m *Model, ws *Workspace, c *Cache, tokens []int32) []float32 {
	t.Helper()
	dst := make([]float32, len(tokens)*m.cfg.Vocab)
	if err := m.EvalAll(context.Background(), ws, c, tokens, dst); err != nil {
		t.Fatalf("EvalAll: %v", err)
	}
	return dst
}

// maxDiff is the largest |got-want| over all logits, and the largest
// |want| for scale.
func maxDiff(got []float32, want [][]float64) (diff, scale float64) {
	vocab := len(want[0])
	for p := range want {
		for i, w := range want[p] {
			diff = max(diff, math.Abs(float64(got[p*vocab+i])-w))
			scale = max(scale, math.Abs(w))
		}
	}
	return diff, scale
}

func TestForwardMatchesReference(t *testing.T) {
	for _, v := range variants() {
		for _, kv := range []KVType{KVF32, KVF16} {
			t.Run(v.name+"/"+kv.String(), func(t *testing.T) {
				m := newModel(t, v)
				tokens := randomTokens(2, 12, v.vocab)
				got := evalAll(t, m, newWorkspace(t, m, 16), newCache(t, m, 32, kv), tokens)
				ref := &reference{cfg: m.cfg, w: m.w, roundKV: kv == KVF16}
				want := ref.logits(tokens)
				diff, scale := maxDiff(got, want)
				// F32: only float32 rounding separates the two. F16: both
				// round at the same points, but a float64 score or weight
				// sometimes rounds to the neighbouring half float.
				tol := 2e-5 * scale
				if kv == KVF16 {
					tol = 2e-4 * scale
				}
				if diff > tol {
					t.Errorf("max |logit - reference| = %.3g, tolerance %.3g (logits up to %.3g)", diff, tol, scale)
				}
				t.Logf("max diff %.3g at scale %.3g", diff, scale)
			})
		}
	}
}

// TestF16CacheIsNotF32 makes sure the F16 cache really rounds: the two
// cache types must give close but different logits.
func TestF16CacheIsNotF32(t *testing.T) {
	v := variants()[0]
	m := newModel(t, v)
	tokens := randomTokens(3, 8, v.vocab)
	a := evalAll(t, m, newWorkspace(t, m, 8), newCache(t, m, 8, KVF32), tokens)
	b := evalAll(t, m, newWorkspace(t, m, 8), newCache(t, m, 8, KVF16), tokens)
	var diff float64
	for i := range a {
		diff = max(diff, math.Abs(float64(a[i]-b[i])))
	}
	if diff == 0 || diff > 0.05 {
		t.Errorf("F16 vs F32 cache: max logit difference %v, want small but non-zero", diff)
	}
}

func TestPrefillMatchesDecode(t *testing.T) {
	for _, v := range variants() {
		for _, kv := range []KVType{KVF32, KVF16} {
			t.Run(v.name+"/"+kv.String(), func(t *testing.T) {
				m := newModel(t, v)
				tokens := randomTokens(4, 20, v.vocab)
				prefill := evalAll(t, m, newWorkspace(t, m, 32), newCache(t, m, 32, kv), tokens)

				ws, c := newWorkspace(t, m, 1), newCache(t, m, 32, kv)
				for i, tok := range tokens {
					logits, err := m.Eval(context.Background(), ws, c, []int32{tok})
					if err != nil {
						t.Fatalf("Eval token %d: %v", i, err)
					}
					row := prefill[i*v.vocab : (i+1)*v.vocab]
					for j := range logits {
						// Same kernels row by row: identical, not just close.
						if logits[j] != row[j] {
							t.Fatalf("token %d logit %d: decode %v, prefill %v", i, j, logits[j], row[j])
						}
					}
				}
				if c.Len() != len(tokens) {
					t.Errorf("cache length %d after %d tokens", c.Len(), len(tokens))
				}
			})
		}
	}
}

// TestLongPrefillUsesTiledPath checks that a pass of 64 rows or more (the
// F32 attention path) stays close to token-by-token decoding.
func TestLongPrefillUsesTiledPath(t *testing.T) {
	v := variants()[0]
	m := newModel(t, v)
	tokens := randomTokens(5, 70, v.vocab)
	prefill := evalAll(t, m, newWorkspace(t, m, 70), newCache(t, m, 80, KVF16), tokens)
	ws, c := newWorkspace(t, m, 1), newCache(t, m, 80, KVF16)
	var diff, scale float64
	identical := true
	for i, tok := range tokens {
		logits, err := m.Eval(context.Background(), ws, c, []int32{tok})
		if err != nil {
			t.Fatal(err)
		}
		for j, l := range logits {
			p := prefill[i*v.vocab+j]
			diff = max(diff, math.Abs(float64(l-p)))
			scale = max(scale, math.Abs(float64(p)))
			identical = identical && l == p
		}
	}
	if diff > 3e-3*scale {
		t.Errorf("max |decode - prefill| = %.3g at scale %.3g", diff, scale)
	}
	if identical {
		t.Errorf("a 70-row pass gave bit-identical logits to decoding; the tiled F32 path was not taken")
	}
}

func TestChunkedPrefill(t *testing.T) {
	v := variants()[5]
	m := newModel(t, v)
	tokens := randomTokens(6, 23, v.vocab)
	whole := evalAll(t, m, newWorkspace(t, m, 32), newCache(t, m, 32, KVF16), tokens)
	ws, c := newWorkspace(t, m, 5), newCache(t, m, 32, KVF16)
	chunked := evalAll(t, m, ws, c, tokens)
	for i := range whole {
		if whole[i] != chunked[i] {
			t.Fatalf("logit %d: batch 5 gives %v, batch 32 gives %v", i, chunked[i], whole[i])
		}
	}
	// Eval returns only the last row, through chunks too.
	c2 := newCache(t, m, 32, KVF16)
	last, err := m.Eval(context.Background(), ws, c2, tokens)
	if err != nil {
		t.Fatal(err)
	}
	for j, l := range last {
		if want := whole[(len(tokens)-1)*v.vocab+j]; l != want {
			t.Fatalf("Eval last logits[%d] = %v, want %v", j, l, want)
		}
	}
}

func TestEvalBatchMatchesSeparateSequences(t *testing.T) {
	v := variants()[6]
	m := newModel(t, v)
	prompts := [][]int32{randomTokens(7, 5, v.vocab), randomTokens(8, 9, v.vocab), randomTokens(9, 1, v.vocab)}
	next := []int32{3, 17, 42}

	// Separately: prompt then one more token.
	want := make([][]float32, len(prompts))
	for i, p := range prompts {
		ws, c := newWorkspace(t, m, 16), newCache(t, m, 16, KVF16)
		if _, err := m.Eval(context.Background(), ws, c, p); err != nil {
			t.Fatal(err)
		}
		l, err := m.Eval(context.Background(), ws, c, next[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = append([]float32(nil), l...)
	}

	ws := newWorkspace(t, m, 16)
	caches := make([]*Cache, len(prompts))
	for i, p := range prompts {
		caches[i] = newCache(t, m, 16, KVF16)
		if _, err := m.Eval(context.Background(), ws, caches[i], p); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]float32, len(prompts)*v.vocab)
	if err := m.EvalBatch(context.Background(), ws, caches, next, dst); err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		for j := range v.vocab {
			if got := dst[i*v.vocab+j]; got != want[i][j] {
				t.Fatalf("sequence %d logit %d: batched %v, alone %v", i, j, got, want[i][j])
			}
		}
		if caches[i].Len() != len(prompts[i])+1 {
			t.Errorf("sequence %d: cache length %d, want %d", i, caches[i].Len(), len(prompts[i])+1)
		}
	}

	if err := m.EvalBatch(context.Background(), ws, []*Cache{caches[0], caches[0]}, []int32{1, 2}, make([]float32, 2*v.vocab)); err == nil {
		t.Error("EvalBatch accepted the same cache twice")
	}
}

func TestContextOverflow(t *testing.T) {
	v := variants()[0]
	m := newModel(t, v)
	ws, c := newWorkspace(t, m, 8), newCache(t, m, 10, KVF16)
	if _, err := m.Eval(context.Background(), ws, c, randomTokens(1, 8, v.vocab)); err != nil {
		t.Fatal(err)
	}
	_, err := m.Eval(context.Background(), ws, c, randomTokens(2, 3, v.vocab))
	var overflow *llm.ContextOverflowError
	if !errors.As(err, &overflow) {
		t.Fatalf("got error %v, want *llm.ContextOverflowError", err)
	}
	if overflow.Required != 11 || overflow.Available != 10 {
		t.Errorf("overflow says %d required, %d available; want 11, 10", overflow.Required, overflow.Available)
	}
	if c.Len() != 8 {
		t.Errorf("cache length %d after a refused eval, want 8", c.Len())
	}
	// Exactly filling the cache is fine.
	if _, err := m.Eval(context.Background(), ws, c, randomTokens(3, 2, v.vocab)); err != nil {
		t.Errorf("filling the cache to capacity: %v", err)
	}
	if _, err := m.Eval(context.Background(), ws, c, []int32{1}); !errors.As(err, &overflow) {
		t.Errorf("one token past a full cache: got %v, want a context overflow", err)
	}
}

func TestCancellationLeavesCacheUnchanged(t *testing.T) {
	v := variants()[0]
	m := newModel(t, v)
	ws, c := newWorkspace(t, m, 4), newCache(t, m, 64, KVF16)
	prompt := randomTokens(1, 6, v.vocab)
	before, err := m.Eval(context.Background(), ws, c, prompt)
	if err != nil {
		t.Fatal(err)
	}
	before = append([]float32(nil), before...)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Eval(ctx, ws, c, randomTokens(2, 20, v.vocab)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Eval with a cancelled context: %v, want context.Canceled", err)
	}
	if c.Len() != len(prompt) {
		t.Fatalf("cache length %d after cancellation, want %d", c.Len(), len(prompt))
	}
	// The sequence continues as if the cancelled call never happened.
	c.Truncate(len(prompt) - 1)
	again, err := m.Eval(context.Background(), ws, c, prompt[len(prompt)-1:])
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i] != before[i] {
			t.Fatalf("logit %d: %v after truncate and re-eval, %v before", i, again[i], before[i])
		}
	}
}

func TestBadInput(t *testing.T) {
	v := variants()[0]
	m := newModel(t, v)
	other := newModel(t, variants()[6])
	ws, c := newWorkspace(t, m, 4), newCache(t, m, 16, KVF16)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"no tokens", func() error { _, err := m.Eval(context.Background(), ws, c, nil); return err }, "no tokens"},
		{"token too large", func() error { _, err := m.Eval(context.Background(), ws, c, []int32{int32(v.vocab)}); return err }, "outside the vocabulary"},
		{"negative token", func() error { _, err := m.Eval(context.Background(), ws, c, []int32{-1}); return err }, "outside the vocabulary"},
		{"foreign workspace", func() error {
			_, err := m.Eval(context.Background(), newWorkspace(t, other, 4), c, []int32{1})
			return err
		}, "workspace"},
		{"foreign cache", func() error {
			_, err := m.Eval(context.Background(), ws, newCache(t, other, 16, KVF16), []int32{1})
			return err
		}, "cache"},
		{"EvalAll wrong dst", func() error { return m.EvalAll(context.Background(), ws, c, []int32{1}, make([]float32, 3)) }, "logits"},
		{"EvalBatch over the batch", func() error {
			cs := []*Cache{newCache(t, m, 4, KVF16), newCache(t, m, 4, KVF16), newCache(t, m, 4, KVF16), newCache(t, m, 4, KVF16), newCache(t, m, 4, KVF16)}
			return m.EvalBatch(context.Background(), ws, cs, make([]int32, 5), make([]float32, 5*v.vocab))
		}, "batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
			if c.Len() != 0 {
				t.Errorf("cache length %d after a bad call", c.Len())
			}
		})
	}
}

func TestConfigAndShapeErrors(t *testing.T) {
	v := variants()[6]
	tests := []struct {
		name   string
		mutate func(*Config, *Weights)
		want   string
	}{
		{"unsupported arch", func(c *Config, _ *Weights) { c.Arch = "gpt2" }, "unsupported architecture"},
		{"zero heads", func(c *Config, _ *Weights) { c.Heads = 0 }, "head_count"},
		{"heads not a multiple of kv heads", func(c *Config, _ *Weights) { c.KVHeads = 3 }, "multiple"},
		{"odd rope dims", func(c *Config, _ *Weights) { c.Rope.Dims = 7 }, "rope.dimension_count"},
		{"bad epsilon", func(c *Config, _ *Weights) { c.RMSEps = float32(math.NaN()) }, "epsilon"},
		{"wrong factor count", func(c *Config, _ *Weights) { c.Rope.Factors = []float32{1, 2} }, "rope_freqs"},
		{"missing q norm", func(_ *Config, w *Weights) { w.Layers[1].QNorm = nil }, "blk.1.attn_q_norm.weight is missing"},
		{"wrong q shape", func(_ *Config, w *Weights) { w.Layers[0].Q = &dense{in: 64, out: 64, w: make([]float32, 64*64)} }, "blk.0.attn_q.weight is [64, 64], want [64, 128]"},
		{"wrong bias length", func(_ *Config, w *Weights) { w.Layers[0].KBias = make([]float32, 3) }, "blk.0.attn_k.bias has 3 values"},
		{"missing output", func(_ *Config, w *Weights) { w.Output = nil }, "output.weight is missing"},
		{"too few layers", func(_ *Config, w *Weights) { w.Layers = w.Layers[:1] }, "layers"},
		{"embedding shape", func(c *Config, _ *Weights) { c.Vocab++ }, "token_embd.weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, w := v.build(1)
			tt.mutate(&cfg, &w)
			m, err := New(cfg, w, Options{Threads: 1})
			if err == nil {
				m.Close()
				t.Fatalf("New accepted the model")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	v := variants()[6]
	m := newModel(t, v)
	ws, c := newWorkspace(t, m, 8), newCache(t, m, 256, KVF16)
	if _, err := m.Eval(context.Background(), ws, c, randomTokens(1, 8, v.vocab)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := []int32{5}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := m.Eval(ctx, ws, c, tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a decode step allocated %v times", allocs)
	}
}

// TestEvalStepsMatchesSeparateSequences mixes, in one pass, the next
// token of two sequences being decoded with a chunk of a third one's
// prompt (as the engine's scheduler does), on a model over quant's
// kernels: every sequence must get exactly the logits it gets alone.
func TestEvalStepsMatchesSeparateSequences(t *testing.T) {
	for _, typ := range []quant.Type{quant.Q8_0, quant.F16, quant.Q4_0, quant.F32} {
		t.Run(typ.String(), func(t *testing.T) {
			v := variants()[6]
			m, err := loadFile(t, v.spec(typ).write(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			prompts := [][]int32{randomTokens(7, 5, v.vocab), randomTokens(8, 9, v.vocab)}
			next := []int32{3, 17}
			chunk := randomTokens(9, 11, v.vocab)

			want := make([][]float32, 3)
			for i, p := range prompts {
				ws, c := newWorkspace(t, m, 16), newCache(t, m, 32, KVF16)
				if _, err := m.Eval(ctx, ws, c, p); err != nil {
					t.Fatal(err)
				}
				l, err := m.Eval(ctx, ws, c, next[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				want[i] = append([]float32(nil), l...)
			}
			{
				ws, c := newWorkspace(t, m, 16), newCache(t, m, 32, KVF16)
				l, err := m.Eval(ctx, ws, c, chunk)
				if err != nil {
					t.Fatal(err)
				}
				want[2] = append([]float32(nil), l...)
			}

			ws := newWorkspace(t, m, 16)
			caches := []*Cache{newCache(t, m, 32, KVF16), newCache(t, m, 32, KVF16), newCache(t, m, 32, KVF16)}
			for i, p := range prompts {
				if _, err := m.Eval(ctx, ws, caches[i], p); err != nil {
					t.Fatal(err)
				}
			}
			steps := []Step{
				{Cache: caches[0], Tokens: next[0:1], Logits: true},
				{Cache: caches[2], Tokens: chunk, Logits: true},
				{Cache: caches[1], Tokens: next[1:2], Logits: true},
			}
			dst := make([]float32, 3*v.vocab)
			if err := m.EvalSteps(ctx, ws, steps, dst); err != nil {
				t.Fatal(err)
			}
			for i, seq := range []int{0, 2, 1} {
				for j := range v.vocab {
					if got := dst[i*v.vocab+j]; got != want[seq][j] {
						t.Fatalf("sequence %d logit %d: in a mixed pass %v, alone %v", seq, j, got, want[seq][j])
					}
				}
			}
			if caches[2].Len() != len(chunk) || caches[0].Len() != len(prompts[0])+1 {
				t.Errorf("cache lengths %d and %d after the pass", caches[2].Len(), caches[0].Len())
			}
			if err := m.EvalSteps(ctx, ws, steps[:1], make([]float32, 2*v.vocab)); err == nil {
				t.Error("EvalSteps accepted a logits buffer of the wrong size")
			}
		})
	}
}

// TestCopyPrefix: a cache that takes a shared beginning from another
// continues exactly as the cache that evaluated it, for both element
// types, and refuses what it cannot hold.
func TestCopyPrefix(t *testing.T) {
	v := variants()[0]
	m := newModel(t, v)
	for _, typ := range []KVType{KVF16, KVF32} {
		ws := newWorkspace(t, m, 8)
		src, dst := newCache(t, m, 32, typ), newCache(t, m, 24, typ)
		prompt := randomTokens(3, 9, v.vocab)
		if _, err := m.Eval(context.Background(), ws, src, prompt); err != nil {
			t.Fatal(err)
		}
		next := randomTokens(4, 1, v.vocab)
		want, err := m.Eval(context.Background(), ws, src, next)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]float32(nil), want...)
		if err := dst.CopyPrefix(src, len(prompt)); err != nil {
			t.Fatal(err)
		}
		got, err := m.Eval(context.Background(), ws, dst, next)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v: logit %d: %v from the copied cache, %v from the original", typ, i, got[i], want[i])
			}
		}
		if err := dst.CopyPrefix(src, src.Len()+1); err == nil {
			t.Errorf("%v: copying more tokens than the source holds succeeded", typ)
		}
		if err := dst.CopyPrefix(dst, 1); err == nil {
			t.Errorf("%v: a cache copied itself", typ)
		}
	}
	if err := newCache(t, m, 8, KVF16).CopyPrefix(newCache(t, m, 8, KVF32), 0); err == nil {
		t.Error("copying between element types succeeded")
	}
}
