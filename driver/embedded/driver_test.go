package embedded

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/llm"
)

func greedy() *sample.Params {
	p := sample.Params{}
	return &p
}

// noEOG is greedy decoding restricted to tokens of lower-case letters,
// so that a random model writes visible text until a bound, never ending
// the turn.
func noEOG(e *engine.Engine) *sample.Params {
	p := sample.Params{LogitBias: map[int32]float32{}}
	tok := e.Tokenizer()
	for id := range int32(tok.NumTokens()) {
		piece := tok.Piece(id, true)
		if piece == "" || strings.Trim(piece, "abcdefghijklmnopqrstuvwxyz") != "" {
			p.LogitBias[id] = float32(math.Inf(-1))
		}
	}
	return &p
}

func withToolChoice(r llm.Request, c llm.ToolChoice) llm.Request {
	r.ToolChoice = c
	return r
}

func hello() llm.Request {
	return llm.Request{System: "You are terse.", Messages: []llm.Message{llm.UserMessage("hello there, tell me the weather")}}
}

func TestInfo(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{ContextLength: 256})
	d := New(e, Options{})
	info := d.Info()
	if info.Model != "tiny-chatml" || info.ContextWindow != 256 || info.Privacy != llm.Sovereign || info.Backend != "embedded" || info.ContextSource != "engine" || info.Address != "" {
		t.Errorf("Info() = %+v", info)
	}
	if got := New(e, Options{Model: "alias"}).Info().Model; got != "alias" {
		t.Errorf("Info().Model with an alias = %q", got)
	}
}

// TestStreamMatchesComplete checks that the deltas of a stream add up to
// its final response, that the response equals Complete's under greedy
// decoding, and that usage counts the prompt and the answer.
func TestStreamMatchesComplete(t *testing.T) {
	e := loadEngine(t, "qwen25", engine.Options{})
	d := New(e, Options{Sampling: noEOG(e)})
	req := hello()
	req.MaxTokens = 12
	var text strings.Builder
	var done *llm.Response
	kinds := map[llm.EventKind]int{}
	for ev, err := range d.Stream(context.Background(), req) {
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		kinds[ev.Kind]++
		switch ev.Kind {
		case llm.EventTextDelta:
			text.WriteString(ev.Text)
		case llm.EventDone:
			done = ev.Response
		}
	}
	if done == nil || kinds[llm.EventDone] != 1 {
		t.Fatalf("no single EventDone: %v", kinds)
	}
	if done.Text != text.String() {
		t.Errorf("response text %q, deltas %q", done.Text, text.String())
	}
	if done.StopReason != llm.StopMaxTokens || done.Usage.OutputTokens != 12 {
		t.Errorf("stop %s, output tokens %d; want max_tokens after 12", done.StopReason, done.Usage.OutputTokens)
	}
	turn, err := d.Prepare(Call{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if done.Usage.InputTokens != turn.PromptTokens() || done.Usage.InputTokens < 10 {
		t.Errorf("input tokens %d, prompt %d", done.Usage.InputTokens, turn.PromptTokens())
	}
	if done.Timings.GeneratedTokens != 12 || done.Timings.GenerationMS <= 0 {
		t.Errorf("timings %+v", done.Timings)
	}
	again, err := d.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Text != done.Text {
		t.Errorf("Complete %q, Stream %q", again.Text, done.Text)
	}
}

func TestSamplingSettingsApply(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{})
	d := New(e, Options{Sampling: noEOG(e)})
	run := func(req llm.Request) string {
		t.Helper()
		req.MaxTokens = 16
		r, err := d.Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return r.Text
	}
	base := hello()
	seeded := func(seed int64) llm.Request {
		r := base
		r.Temperature, r.Seed = llm.Ptr(5.0), llm.Ptr(seed)
		return r
	}
	if a, b := run(seeded(1)), run(seeded(1)); a != b {
		t.Errorf("same seed gave %q and %q", a, b)
	}
	differ := false
	for s := int64(2); s < 6 && !differ; s++ {
		differ = run(seeded(s)) != run(seeded(1))
	}
	if !differ {
		t.Errorf("temperature 5 with different seeds always gave the same text")
	}
	stopped := base
	full := run(base)
	if len(full) < 4 {
		t.Fatalf("greedy text %q too short to cut", full)
	}
	stopped.Stop = []string{full[2:4]}
	r, err := d.Complete(context.Background(), llm.Request{System: base.System, Messages: base.Messages, Stop: stopped.Stop, MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	if r.StopReason != llm.StopStopSequence || !strings.HasPrefix(full, r.Text) || strings.Contains(r.Text, full[2:4]) {
		t.Errorf("stop %q: got %s, full text %q", full[2:4], r, full)
	}
}

func TestBadRequests(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{})
	d := New(e, Options{})
	cases := map[string]Call{
		"no messages":          {},
		"bad temperature":      {Request: llm.Request{Messages: hello().Messages, Temperature: llm.Ptr(-1.0)}},
		"required, no tools":   {Request: withToolChoice(hello(), llm.ToolChoice{Mode: llm.ToolRequired})},
		"named tool not given": {Request: withToolChoice(hello(), llm.ToolChoiceNamed("glob"))},
		"bad top_p":            {Request: llm.Request{Messages: hello().Messages, TopP: llm.Ptr(2.0)}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := d.Prepare(c)
			var re *llm.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Prepare: %v, want a RequestError", err)
			}
			_, err = llm.CompleteFromStream(d.StreamCall(context.Background(), c))
			if !errors.As(err, &re) {
				t.Errorf("StreamCall: %v, want a RequestError", err)
			}
		})
	}
}

func TestContextOverflow(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{ContextLength: 64})
	d := New(e, Options{Sampling: noEOG(e)})
	t.Run("prompt", func(t *testing.T) {
		req := llm.Request{Messages: []llm.Message{llm.UserMessage(strings.Repeat("tell me the weather ", 40))}}
		_, err := d.Prepare(Call{Request: req})
		var ov *llm.ContextOverflowError
		if !errors.As(err, &ov) || ov.Available != 64 || ov.Required <= 64 {
			t.Fatalf("Prepare: %v, want an overflow of 64", err)
		}
		if _, err := d.Complete(context.Background(), req); !errors.As(err, &ov) {
			t.Errorf("Complete: %v", err)
		}
	})
	t.Run("generation", func(t *testing.T) {
		// Filling the window ends the answer with the text so far: 64 tokens evaluated, and a last one sampled
		// from the full window's logits.
		var deltas int
		var resp *llm.Response
		for ev, err := range d.Stream(context.Background(), hello()) {
			if err != nil {
				t.Fatalf("stream failed: %v", err)
			}
			switch ev.Kind {
			case llm.EventTextDelta:
				deltas++
			case llm.EventDone:
				resp = ev.Response
			}
		}
		if resp == nil || resp.StopReason != llm.StopContextWindow || resp.Text == "" || resp.Usage.Total() != 65 {
			t.Fatalf("answer %v, want %s with the text of a full 64-token window", resp, llm.StopContextWindow)
		}
		if deltas == 0 {
			t.Errorf("no text streamed")
		}
	})
}

func TestCancel(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{})
	d := New(e, Options{Sampling: noEOG(e)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	n := 0
	for ev, e := range d.Stream(ctx, hello()) {
		if e != nil {
			err = e
			break
		}
		if ev.Kind == llm.EventTextDelta {
			if n++; n == 2 {
				cancel()
			}
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stream ended with %v, want context.Canceled", err)
	}
	// Stopping the iteration early frees the slot as well.
	for range d.Stream(context.Background(), hello()) {
		break
	}
	r, err := d.Complete(context.Background(), llm.Request{Messages: hello().Messages, MaxTokens: 3})
	if err != nil || r.Usage.OutputTokens != 3 {
		t.Fatalf("after cancellations: %v, %v", r, err)
	}
}

func TestConcurrent(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{Parallel: 2})
	d := New(e, Options{Sampling: noEOG(e)})
	want, err := d.Complete(context.Background(), llm.Request{Messages: hello().Messages, MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			r, err := d.Complete(context.Background(), llm.Request{Messages: hello().Messages, MaxTokens: 8})
			if err == nil && r.Text != want.Text {
				err = errors.New("text " + r.Text + " differs from " + want.Text)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestClose(t *testing.T) {
	t.Run("owned", func(t *testing.T) {
		d, err := Open(writeModel(t, "chatml"), Options{Engine: engine.Options{ContextLength: 128, Threads: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Complete(context.Background(), llm.Request{Messages: hello().Messages, MaxTokens: 2}); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := d.Complete(context.Background(), hello()); !errors.Is(err, llm.ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
		if _, err := d.Engine().Complete(context.Background(), engine.Request{Text: "hi", MaxTokens: 1}); !errors.Is(err, engine.ErrClosed) {
			t.Errorf("the owned engine still runs after Close: %v", err)
		}
	})
	t.Run("shared", func(t *testing.T) {
		e := loadEngine(t, "chatml", engine.Options{})
		d := New(e, Options{})
		d.Close()
		if _, err := d.Complete(context.Background(), hello()); !errors.Is(err, llm.ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
		if _, err := e.Complete(context.Background(), engine.Request{Text: "hi", MaxTokens: 1}); err != nil {
			t.Errorf("Close closed a shared engine: %v", err)
		}
	})
	t.Run("in flight", func(t *testing.T) {
		d, err := Open(writeModel(t, "chatml"), Options{Engine: engine.Options{ContextLength: 4096, Threads: 2}})
		if err != nil {
			t.Fatal(err)
		}
		d.sampling = *noEOG(d.Engine())
		var got error
		for ev, err := range d.Stream(context.Background(), hello()) {
			if err != nil {
				got = err
				break
			}
			if ev.Kind == llm.EventTextDelta {
				d.Close()
			}
		}
		if !errors.Is(got, llm.ErrClosed) || !errors.Is(got, engine.ErrClosed) || got.Error() != "embedded: the driver is closed" {
			t.Errorf("a generation cut by Close ended with %q, want one closed error", got)
		}
	})
}

func TestOpenBadFile(t *testing.T) {
	_, err := Open("/nonexistent/model.gguf", Options{})
	var mf *llm.ModelFileError
	if !errors.As(err, &mf) {
		t.Fatalf("Open: %v, want a ModelFileError", err)
	}
}

// TestLogprobs: asked for them, the stream carries every generated
// token's log-probability before its text, and the answer is exactly the
// concatenation of those tokens.
func TestLogprobs(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{})
	d := New(e, Options{Sampling: noEOG(e)})
	req := hello()
	req.MaxTokens = 8
	var events []llm.TokenLogprob
	var resp *llm.Response
	turn, err := d.Prepare(Call{Request: req, TopLogprobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range turn.Stream(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case llm.EventLogprobs:
			events = append(events, ev.Logprobs...)
		case llm.EventDone:
			resp = ev.Response
		}
	}
	if resp == nil || len(events) != 8 || len(resp.Logprobs) != 8 {
		t.Fatalf("%d logprob events, answer %v, want 8 of each", len(events), resp)
	}
	var text []byte
	for i, lp := range resp.Logprobs {
		text = append(text, lp.Bytes...)
		if lp.Logprob > 0 || len(lp.Top) != 2 || lp.Top[0].Logprob < lp.Top[1].Logprob || lp.Logprob != events[i].Logprob {
			t.Errorf("token %d: %+v", i, lp)
		}
	}
	if string(text) != resp.Text {
		t.Errorf("tokens spell %q, answer %q", text, resp.Text)
	}
	if _, err := d.Prepare(Call{Request: req, TopLogprobs: 21}); err == nil {
		t.Error("top_logprobs 21 accepted")
	}
}

// A prompt far past the context window is refused for memory in
// proportion to the window, not to the prompt: one word of 16 MiB against
// a window of 64 tokens.
func TestContextOverflowLongWordMemory(t *testing.T) {
	e := loadEngine(t, "chatml", engine.Options{ContextLength: 64})
	d := New(e, Options{})
	word := strings.Repeat("a", 16<<20)
	req := llm.Request{Messages: []llm.Message{llm.UserMessage(word)}}
	var err error
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = d.Prepare(Call{Request: req})
	runtime.ReadMemStats(&after)
	var ov *llm.ContextOverflowError
	if !errors.As(err, &ov) || ov.Available != 64 || ov.Required <= 64 {
		t.Fatalf("Prepare: %v, want an overflow of 64", err)
	}
	// Rendering copies the text into the prompt; tokenizing it whole
	// cost some 60 bytes a byte.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Prepare allocated %d bytes for a %d-byte word (%.1f×)", alloc, len(word), float64(alloc)/float64(len(word)))
	if alloc > 4*uint64(len(word)) {
		t.Errorf("Prepare allocated %d bytes for a %d-byte word; want at most 4× the word", alloc, len(word))
	}
}
