package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
)

const prompt = "<|im_start|>user\nhello there, tell me the weather<|im_end|>\n<|im_start|>assistant\n"

func complete(t *testing.T, e *Engine, req Request) Result {
	t.Helper()
	r, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return r
}

// waitIdle polls until no generation holds a slot.
func waitIdle(t *testing.T, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Stats().Active != 0 || e.Stats().Queued != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("engine still busy: %+v", e.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoadInfo(t *testing.T) {
	for _, s := range []testmodel.Spec{tinyQwen2(), tinyLlama(), tinyQwen3()} {
		t.Run(s.Arch, func(t *testing.T) {
			e := load(t, s, Options{ContextLength: 256, Parallel: 2})
			info := e.Info()
			if string(info.Arch) != s.Arch || info.ContextLength != 256 || info.TrainedContext != 4096 || info.Parallel != 2 {
				t.Errorf("info %+v", info)
			}
			if info.Vocab != e.Tokenizer().NumTokens() {
				t.Errorf("vocab %d, tokenizer %d", info.Vocab, e.Tokenizer().NumTokens())
			}
			tmpl, err := e.Template()
			if err != nil || tmpl == nil || info.TemplateFamily == "" {
				t.Errorf("template %v, %v, family %q", tmpl, err, info.TemplateFamily)
			}
			if want := int64(2) * 256 * 2 * int64(s.KVHeads*s.HeadDim*2) * 2; info.KVCacheBytes != want {
				t.Errorf("KV cache %d bytes, want %d", info.KVCacheBytes, want)
			}
			// The header's facts, read once at load.
			if info.Embd != s.Embd || info.Params == 0 || info.WeightBytes == 0 || info.ChatTemplate == "" {
				t.Errorf("header: embd %d, %d parameters in %d bytes, template %q", info.Embd, info.Params, info.WeightBytes, info.ChatTemplate)
			}
		})
	}
}

func TestDefaultContext(t *testing.T) {
	e := load(t, tinyQwen2(), Options{})
	if got := e.Info().ContextLength; got != 4096 {
		t.Errorf("default context %d, want the trained 4096", got)
	}
}

// TestGreedyMatchesModel checks the scheduler's plumbing against the
// model driven by hand: the same greedy tokens.
func TestGreedyMatchesModel(t *testing.T) {
	for _, s := range []testmodel.Spec{tinyQwen2(), tinyLlama(), tinyQwen3()} {
		t.Run(s.Arch, func(t *testing.T) {
			e := load(t, s, Options{ContextLength: 128})
			r := complete(t, e, Request{Text: prompt, MaxTokens: 12, IgnoreEOG: true})

			m := e.model
			ws, _ := m.NewWorkspace(64)
			c, _ := m.NewCache(128, model.KVF16)
			logits, err := m.Eval(context.Background(), ws, c, e.Encode(prompt))
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			for range 12 {
				tok := int32(0)
				for i, l := range logits {
					if l > logits[tok] {
						tok = int32(i)
					}
				}
				want = append(want, tok)
				if logits, err = m.Eval(context.Background(), ws, c, []int32{tok}); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(r.Tokens, want) {
				t.Errorf("engine tokens %v, model by hand %v", r.Tokens, want)
			}
			if r.Summary.Reason != StopMaxTokens {
				t.Errorf("reason %q, want %q", r.Summary.Reason, StopMaxTokens)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	e := load(t, tinyQwen3(), Options{ContextLength: 256})
	greedy := Request{Text: prompt, MaxTokens: 24, IgnoreEOG: true}
	a, b := complete(t, e, greedy), complete(t, e, greedy)
	if !slices.Equal(a.Tokens, b.Tokens) || a.Text != b.Text {
		t.Errorf("greedy runs differ:\n%v\n%v", a.Tokens, b.Tokens)
	}
	seeded := func(seed int64) Result {
		p := sample.DefaultParams()
		p.Seed = seed
		p.Temperature = 1.5
		return complete(t, e, Request{Text: prompt, MaxTokens: 24, IgnoreEOG: true, Sampling: p})
	}
	x, y, z := seeded(7), seeded(7), seeded(8)
	if !slices.Equal(x.Tokens, y.Tokens) {
		t.Errorf("seed 7 twice gave different tokens:\n%v\n%v", x.Tokens, y.Tokens)
	}
	if slices.Equal(x.Tokens, z.Tokens) {
		t.Errorf("seeds 7 and 8 gave the same 24 tokens %v", x.Tokens)
	}
}

func TestStopString(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 256})
	full := complete(t, e, Request{Text: prompt, MaxTokens: 40, IgnoreEOG: true})
	if len(full.Text) < 12 {
		t.Fatalf("generated text %q too short to cut", full.Text)
	}
	stop := full.Text[6:9]
	want := full.Text[:strings.Index(full.Text, stop)]
	var pieces []string
	var last Token
	for tok, err := range e.Generate(context.Background(), Request{Text: prompt, MaxTokens: 40, IgnoreEOG: true, Stop: []string{"never appears", stop}}) {
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, tok.Text)
		last = tok
	}
	if got := strings.Join(pieces, ""); got != want {
		t.Errorf("text %q, want %q (stop %q in %q)", got, want, stop, full.Text)
	}
	if !last.Done || last.Summary.Reason != StopString {
		t.Errorf("final item %+v, want Done with reason %q", last, StopString)
	}
}

func TestEndOfGeneration(t *testing.T) {
	e := load(t, tinyLlama(), Options{ContextLength: 256})
	eos := e.Tokenizer().EOS()
	p := sample.Params{LogitBias: map[int32]float32{eos: 1000}}
	r := complete(t, e, Request{Text: prompt, Sampling: p, MaxTokens: 10})
	if r.Summary.Reason != StopEOG || r.Text != "" || len(r.Tokens) != 0 {
		t.Errorf("got %+v; want an immediate end of generation", r)
	}
	if r.Summary.Timings.GeneratedTokens != 1 {
		t.Errorf("generated tokens %d, want 1 (the end-of-generation token)", r.Summary.Timings.GeneratedTokens)
	}
	// IgnoreEOG goes on through it.
	r = complete(t, e, Request{Text: prompt, Sampling: p, MaxTokens: 3, IgnoreEOG: true})
	if r.Summary.Reason != StopMaxTokens || len(r.Tokens) != 3 || r.Tokens[0] != eos {
		t.Errorf("with IgnoreEOG: %+v", r)
	}
}

func TestSummaryAndTimings(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 256})
	n := len(e.Encode(prompt))
	r := complete(t, e, Request{Text: prompt, MaxTokens: 5, IgnoreEOG: true})
	s := r.Summary
	if s.PromptTokens != n || s.CachedTokens != 0 || s.Timings.PromptTokens != n || s.Timings.GeneratedTokens != 5 {
		t.Errorf("summary %+v, want %d prompt tokens evaluated and 5 generated", s, n)
	}
	if s.Timings.PromptMS <= 0 || s.Timings.GenerationMS <= 0 {
		t.Errorf("timings %+v", s.Timings)
	}
	// The same prompt again reuses all but its last token from the cache,
	// and gives the same answer.
	again := complete(t, e, Request{Text: prompt, MaxTokens: 5, IgnoreEOG: true})
	if again.Summary.CachedTokens != n-1 || again.Summary.Timings.PromptTokens != 1 {
		t.Errorf("second run summary %+v, want %d cached tokens", again.Summary, n-1)
	}
	if !slices.Equal(again.Tokens, r.Tokens) {
		t.Errorf("cached run tokens %v, first run %v", again.Tokens, r.Tokens)
	}
	cold := complete(t, e, Request{Text: prompt, MaxTokens: 5, IgnoreEOG: true, NoPromptCache: true})
	if cold.Summary.CachedTokens != 0 || !slices.Equal(cold.Tokens, r.Tokens) {
		t.Errorf("NoPromptCache run: %+v", cold)
	}
}

func TestContextOverflow(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 16})
	toks := e.Encode(prompt)

	t.Run("prompt too long", func(t *testing.T) {
		_, err := e.Complete(context.Background(), Request{Tokens: toks})
		var ov *llm.ContextOverflowError
		if !errors.As(err, &ov) || ov.Required != len(toks) || ov.Available != 16 {
			t.Fatalf("got %v, want a context overflow of %d > 16", err, len(toks))
		}
	})
	t.Run("generation fills the window", func(t *testing.T) {
		r, err := e.Complete(context.Background(), Request{Tokens: toks[:10], IgnoreEOG: true})
		if err != nil {
			t.Fatalf("a generation that fills the window failed: %v", err)
		}
		// 10 prompt tokens leave room to evaluate 6 generated ones, and
		// the logits after the 6th give a 7th.
		if r.Summary.Reason != StopContext || len(r.Tokens) != 7 || r.Summary.Timings.GeneratedTokens != 7 {
			t.Errorf("reason %q after %d tokens (%d counted), want %q after 7", r.Summary.Reason, len(r.Tokens), r.Summary.Timings.GeneratedTokens, StopContext)
		}
		if want := e.Tokenizer().Decode(r.Tokens); r.Text != want {
			t.Errorf("text %q, want the tokens' text %q", r.Text, want)
		}
	})
	t.Run("exactly full prompt still answers", func(t *testing.T) {
		r, err := e.Complete(context.Background(), Request{Tokens: toks[:16], MaxTokens: 1})
		if err != nil || len(r.Tokens)+btoi(r.Summary.Reason == StopEOG) != 1 {
			t.Errorf("16-token prompt in a 16-token window: %+v, %v", r, err)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestBadRequests(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 64})
	tests := []struct {
		name string
		req  Request
	}{
		{"empty prompt", Request{}},
		{"token out of range", Request{Tokens: []int32{1, 99999}}},
		{"negative max tokens", Request{Text: "hi", MaxTokens: -1}},
		{"bad sampling", Request{Text: "hi", Sampling: sample.Params{TopP: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Complete(context.Background(), tt.req)
			var re *llm.RequestError
			if !errors.As(err, &re) {
				t.Errorf("got %v, want *llm.RequestError", err)
			}
		})
	}
}

func TestCancellation(t *testing.T) {
	e := load(t, tinyQwen3(), Options{ContextLength: 512})

	t.Run("context cancelled mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var final error
		for _, err := range e.Generate(ctx, Request{Text: prompt, IgnoreEOG: true}) {
			if err != nil {
				final = err
				break
			}
			if n++; n == 3 {
				cancel()
			}
		}
		if !errors.Is(final, context.Canceled) {
			t.Errorf("stream ended with %v, want context.Canceled", final)
		}
		waitIdle(t, e)
	})
	t.Run("breaking out of the loop", func(t *testing.T) {
		for range e.Generate(context.Background(), Request{Text: prompt, IgnoreEOG: true}) {
			break
		}
		waitIdle(t, e)
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.Complete(ctx, Request{Text: prompt}); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled while the prompt is read", func(t *testing.T) {
		long := strings.Repeat("hello world in the thin hell ", 25)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for e.Stats().Active == 0 && ctx.Err() == nil {
				time.Sleep(50 * time.Microsecond)
			}
			cancel()
		}()
		_, err := e.Complete(ctx, Request{Text: long, IgnoreEOG: true})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		waitIdle(t, e)
	})
	// The engine still serves after all that.
	if r := complete(t, e, Request{Text: prompt, MaxTokens: 2, IgnoreEOG: true}); len(r.Tokens) != 2 {
		t.Errorf("after cancellations: %+v", r)
	}
}

// TestConcurrentRequests runs more requests than slots at once: each must
// get exactly what it gets alone, batched decoding notwithstanding.
func TestConcurrentRequests(t *testing.T) {
	e := load(t, tinyLlama(), Options{ContextLength: 256, Parallel: 2})
	reqs := make([]Request, 5)
	want := make([]Result, len(reqs))
	for i := range reqs {
		p := sample.DefaultParams()
		p.Seed = int64(i)
		reqs[i] = Request{Text: fmt.Sprintf("<|im_start|>user\nquestion %d about the weather<|im_end|>\n", i), MaxTokens: 8 + i, IgnoreEOG: true, Sampling: p, NoPromptCache: true}
		want[i] = complete(t, e, reqs[i])
	}
	got := make([]Result, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() { got[i], errs[i] = e.Complete(context.Background(), reqs[i]) })
	}
	wg.Wait()
	for i := range reqs {
		if errs[i] != nil {
			t.Errorf("request %d: %v", i, errs[i])
			continue
		}
		if !slices.Equal(got[i].Tokens, want[i].Tokens) || got[i].Text != want[i].Text {
			t.Errorf("request %d concurrently: %v, alone: %v", i, got[i].Tokens, want[i].Tokens)
		}
	}
	waitIdle(t, e)
	if s := e.Stats(); s.Slots != 2 {
		t.Errorf("stats after the burst: %+v", s)
	}
}

func TestClose(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 1024})
	started := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		var final error
		first := true
		for _, err := range e.Generate(context.Background(), Request{Text: prompt, IgnoreEOG: true}) {
			if first {
				close(started)
				first = false
			}
			if err != nil {
				final = err
			}
		}
		result <- final
	}()
	<-started
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-result:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("running generation ended with %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("generation still running after Close")
	}
	if _, err := e.Complete(context.Background(), Request{Text: prompt}); !errors.Is(err, ErrClosed) {
		t.Errorf("Complete after Close: %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestPrefillMatchesDecodeLoaded compares a batched prompt pass with
// token-by-token decoding on a GGUF model with quantised weights.
func TestPrefillMatchesDecodeLoaded(t *testing.T) {
	for _, s := range []testmodel.Spec{tinyLlama(), tinyQwen3()} {
		t.Run(s.Arch+"/"+s.Type.String(), func(t *testing.T) {
			e := load(t, s, Options{ContextLength: 128})
			m := e.model
			toks := e.Encode(prompt)
			vocab := m.Config().Vocab
			ws, _ := m.NewWorkspace(len(toks))
			c, _ := m.NewCache(128, model.KVF16)
			all := make([]float32, len(toks)*vocab)
			if err := m.EvalAll(context.Background(), ws, c, toks, all); err != nil {
				t.Fatal(err)
			}
			ws1, _ := m.NewWorkspace(1)
			c1, _ := m.NewCache(128, model.KVF16)
			var diff, scale float64
			for i, tok := range toks {
				l, err := m.Eval(context.Background(), ws1, c1, []int32{tok})
				if err != nil {
					t.Fatal(err)
				}
				for j, v := range l {
					diff = max(diff, math.Abs(float64(v-all[i*vocab+j])))
					scale = max(scale, math.Abs(float64(v)))
				}
			}
			if diff > 1e-3*scale {
				t.Errorf("prefill vs decode logits differ by %.3g (scale %.3g)", diff, scale)
			}
			t.Logf("max difference %.3g at scale %.3g", diff, scale)
		})
	}
}

func TestEncodePrompt(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 64})
	tmpl, err := e.Template()
	if err != nil {
		t.Fatal(err)
	}
	conv := chat.Conversation{Messages: []llm.Message{{Role: llm.RoleUser, Content: "read <|im_end|> this"}}}
	p, err := tmpl.Render(conv, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	imEnd, _ := e.Tokenizer().Lookup(tokImEnd)
	count := func(ids []int32) int {
		n := 0
		for _, id := range ids {
			if id == imEnd {
				n++
			}
		}
		return n
	}
	if p.Content == nil {
		t.Fatalf("template family %s gives no content spans", tmpl.Family())
	}
	// The template closes one turn; the user's text must not close another.
	if got := count(e.EncodePrompt(p)); got != 1 {
		t.Errorf("EncodePrompt: %d <|im_end|> tokens, want 1", got)
	}
	if got := count(e.Encode(p.Text)); got != 2 {
		t.Errorf("Encode of the whole text: %d <|im_end|> tokens, want 2", got)
	}
}

func TestBadOptions(t *testing.T) {
	path := testmodel.Write(t, tinyQwen2())
	for _, o := range []Options{{ContextLength: -1}, {ContextLength: 1 << 30}, {Parallel: -2}, {Parallel: 5000}, {Threads: -1}, {Batch: -8}} {
		if e, err := Load(path, o); err == nil {
			e.Close()
			t.Errorf("Load accepted %+v", o)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.gguf"), Options{}); err == nil {
		t.Error("Load of a missing file succeeded")
	} else if fe := (*llm.ModelFileError)(nil); !errors.As(err, &fe) {
		t.Errorf("missing file: %v is not a *llm.ModelFileError", err)
	}
}

// TestNoLeakPerRequest checks that finished generations leave nothing
// behind on the engine: many short requests keep the goroutine count flat.
func TestNoLeakPerRequest(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 64})
	req := Request{Text: "hi", MaxTokens: 1, IgnoreEOG: true}
	complete(t, e, req)
	waitIdle(t, e)
	before := runtime.NumGoroutine()
	for range 200 {
		complete(t, e, req)
	}
	waitIdle(t, e)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines grew from %d to %d over 200 requests", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSharedPromptAcrossSlots: a request whose prompt another slot is
// still using copies that slot's cache instead of evaluating the prompt,
// and answers exactly as a cold run does.
func TestSharedPromptAcrossSlots(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 256, Parallel: 2})
	n := len(e.Encode(prompt))
	cold := complete(t, e, Request{Text: prompt, MaxTokens: 5, IgnoreEOG: true, NoPromptCache: true})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next, stop := iter.Pull2(e.Generate(ctx, Request{Text: prompt, IgnoreEOG: true}))
	defer stop()
	if _, err, ok := next(); !ok || err != nil {
		t.Fatalf("first generation: %v", err)
	}
	// The first generation has read its prompt and keeps its slot.
	r := complete(t, e, Request{Text: prompt, MaxTokens: 5, IgnoreEOG: true})
	if r.Summary.CachedTokens != n-1 || r.Summary.Timings.PromptTokens != 1 {
		t.Errorf("summary %+v, want %d tokens copied from the busy slot", r.Summary, n-1)
	}
	if !slices.Equal(r.Tokens, cold.Tokens) {
		t.Errorf("tokens %v from the copied cache, %v from a cold run", r.Tokens, cold.Tokens)
	}
}

// TestIdenticalPromptsAtOnce: requests with one prompt sent together are
// evaluated once: the later ones wait for the first to read it and copy
// its cache, and all answer alike.
func TestIdenticalPromptsAtOnce(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 256, Parallel: 3, Batch: 4})
	n := len(e.Encode(prompt))
	complete(t, e, Request{Text: prompt, MaxTokens: 4, IgnoreEOG: true})
	// That run left its prompt in a slot; a different prompt shares its
	// beginning.
	other := strings.Replace(prompt, "weather", "climate", 1)
	var wg sync.WaitGroup
	results := make([]Result, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Complete(context.Background(), Request{Text: other, MaxTokens: 4, IgnoreEOG: true})
		}()
	}
	wg.Wait()
	evaluated := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		evaluated += r.Summary.Timings.PromptTokens
		if !slices.Equal(r.Tokens, results[0].Tokens) {
			t.Errorf("answer %d: %v, answer 0: %v", i, r.Tokens, results[0].Tokens)
		}
	}
	shared := commonPrefix(e.Encode(prompt), e.Encode(other))
	// One request reads what no slot held; the other two evaluate only
	// the last token.
	if want := len(e.Encode(other)) - shared + 2; evaluated != want {
		t.Errorf("%d prompt tokens evaluated in all, want %d (prompt %d, %d shared with the cached one)", evaluated, want, n, shared)
	}
}

func TestEncodePromptLimit(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 64})
	tmpl, err := e.Template()
	if err != nil {
		t.Fatal(err)
	}
	conv := chat.Conversation{Messages: []llm.Message{{Role: llm.RoleUser, Content: "read <|im_end|> this and that"}}}
	p, err := tmpl.Render(conv, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want := e.EncodePrompt(p)
	if got, ok := e.EncodePromptLimit(p, len(want)); !ok || !slices.Equal(got, want) {
		t.Errorf("at the exact count: %d tokens, complete %v; want %d, true", len(got), ok, len(want))
	}
	for limit := range len(want) {
		got, ok := e.EncodePromptLimit(p, limit)
		if ok {
			t.Fatalf("limit %d of %d tokens: complete", limit, len(want))
		}
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("limit %d: %d tokens that are not a prefix of the prompt's", limit, len(got))
		}
	}
}
