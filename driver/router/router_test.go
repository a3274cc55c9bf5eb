package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"sync"
	"testing"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
)

// fake is an llm.Driver whose answers the test chooses.
type fake struct {
	info llm.Info
	// fail, if set, is the error of every request, returned before any
	// event.
	fail error
	// failAfter, if set, ends a stream with it after the first text event.
	failAfter error
	usage     llm.Usage
	text      string

	mu     sync.Mutex
	calls  int
	closed int
}

func newFake(name string, tier llm.PrivacyTier) *fake {
	return &fake{info: llm.Info{Model: name + "-model", ContextWindow: 1000, Privacy: tier, Backend: "fake"}, text: "from " + name}
}

func (f *fake) Info() llm.Info { return f.info }

func (f *fake) Close() error {
	f.mu.Lock()
	f.closed++
	f.mu.Unlock()
	return nil
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fake) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return llm.CompleteFromStream(f.Stream(ctx, req))
}

func (f *fake) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		f.mu.Lock()
		f.calls++
		f.mu.Unlock()
		if err := ctx.Err(); err != nil {
			yield(llm.Event{}, err)
			return
		}
		if f.fail != nil {
			yield(llm.Event{}, f.fail)
			return
		}
		if !yield(llm.Event{Kind: llm.EventTextDelta, Text: f.text}, nil) {
			return
		}
		if f.failAfter != nil {
			yield(llm.Event{}, f.failAfter)
			return
		}
		yield(llm.Event{Kind: llm.EventDone, Response: &llm.Response{Text: f.text, StopReason: llm.StopEndTurn, Usage: f.usage}}, nil)
	}
}

var hello = llm.Request{Messages: []llm.Message{llm.UserMessage("hello")}}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRouter(t *testing.T, tier llm.PrivacyTier, members ...Member) *Router {
	t.Helper()
	r, err := New(Options{Name: "test", Privacy: tier, Logger: quiet()}, members...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// fallbackCases are failures after which another server may answer.
var fallbackCases = []error{
	&llm.TransportError{Op: "connect", Err: errors.New("connection refused")},
	&llm.RateLimitedError{StatusCode: 429},
	&llm.RateLimitedError{StatusCode: 503, Overloaded: true},
	&llm.HTTPError{StatusCode: 404, Message: "model not found"},
	&llm.HTTPError{StatusCode: 502},
	&llm.HTTPError{StatusCode: 408},
	&llm.ContextOverflowError{Required: 5000, Available: 4096},
	&llm.ServerExitedError{Backend: "llama-server", PID: 1, ExitCode: -1, Signal: "killed"},
	&llm.ModelFileError{Path: "m.gguf", Reason: "missing"},
	&llm.ModelNotFoundError{Model: "qwen3-32b", Endpoint: "http://10.0.0.5:8000", Available: []string{"llama"}},
	&llm.PrivacyError{Tier: llm.Private, Host: "gpu.lab", Address: "203.0.113.9", Rule: "private allows …"},
	fmt.Errorf("wrapped: %w", &llm.TransportError{Op: "read", Err: io.ErrUnexpectedEOF}),
}

// finalCases are failures that another server would repeat, or that the
// user must see.
var finalCases = []error{
	&llm.RequestError{Reason: "bad"},
	&llm.HTTPError{StatusCode: 400, Message: "invalid tool schema"},
	&llm.HTTPError{StatusCode: 401, Message: "bad key"},
	&llm.HTTPError{StatusCode: 422},
	&llm.ProtocolError{Reason: "not JSON"},
	&llm.ConfigError{Setting: "x", Value: "y", Reason: "z"},
	fmt.Errorf("x: %w", llm.ErrClosed),
	errors.New("some other error"),
}

func TestShouldFallback(t *testing.T) {
	for _, err := range fallbackCases {
		if !ShouldFallback(err) {
			t.Errorf("ShouldFallback(%v) = false", err)
		}
	}
	for _, err := range finalCases {
		if ShouldFallback(err) {
			t.Errorf("ShouldFallback(%v) = true", err)
		}
	}
}

func TestCompleteFallsBackOnlyWhereAnotherServerMayAnswer(t *testing.T) {
	for _, streaming := range []bool{false, true} {
		for _, c := range append(append([]error{}, fallbackCases...), finalCases...) {
			t.Run(fmt.Sprintf("stream=%v/%v", streaming, c), func(t *testing.T) {
				a, b := newFake("a", llm.Sovereign), newFake("b", llm.Sovereign)
				a.fail = c
				r := newRouter(t, llm.Sovereign, Member{Name: "a", Driver: a}, Member{Name: "b", Driver: b})
				resp, err := complete(r, context.Background(), hello, streaming)
				if ShouldFallback(c) {
					if err != nil || resp.Text != "from b" || resp.Served.Driver != "b" || resp.Served.Attempts != 2 {
						t.Fatalf("resp %v, err %v", resp, err)
					}
					m := r.Metrics()
					if m[0].Attempts != 1 || m[0].Failures != 1 || m[0].Fallbacks != 1 || m[1].Successes != 1 || m[1].Attempts != 1 {
						t.Fatalf("metrics %+v", m)
					}
					return
				}
				if err == nil || !errors.Is(err, c) || b.count() != 0 {
					t.Fatalf("err %v (want %v), b called %d times", err, c, b.count())
				}
				var ae *AttemptError
				if !errors.As(err, &ae) || ae.Driver != "a" {
					t.Fatalf("err %v does not name the driver", err)
				}
				if m := r.Metrics(); m[0].Failures != 1 || m[0].Fallbacks != 0 || m[1].Attempts != 0 {
					t.Fatalf("metrics %+v", m)
				}
			})
		}
	}
}

// complete runs req with Complete, or with Stream and collects the
// response of its final event, checking that the stream keeps the
// llm.Driver contract.
func complete(r *Router, ctx context.Context, req llm.Request, streaming bool) (*llm.Response, error) {
	if streaming {
		return llmtest.CheckStream(r.Stream(ctx, req))
	}
	return r.Complete(ctx, req)
}

func TestStreamNeverFallsBackAfterTheFirstEvent(t *testing.T) {
	a, b := newFake("a", llm.Sovereign), newFake("b", llm.Sovereign)
	a.failAfter = &llm.TransportError{Op: "read", Err: io.ErrUnexpectedEOF}
	r := newRouter(t, llm.Sovereign, Member{Name: "a", Driver: a}, Member{Name: "b", Driver: b})
	var text string
	var got error
	for ev, err := range r.Stream(context.Background(), hello) {
		if err != nil {
			got = err
			break
		}
		text += ev.Text
	}
	if text != "from a" || !errors.Is(got, io.ErrUnexpectedEOF) || b.count() != 0 {
		t.Fatalf("text %q, err %v, b called %d times", text, got, b.count())
	}
	if m := r.Metrics(); m[0].Failures != 1 || m[0].Fallbacks != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestCallerCancellationDoesNotFallBack(t *testing.T) {
	a, b := newFake("a", llm.Sovereign), newFake("b", llm.Sovereign)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a.fail = &llm.TransportError{Op: "connect", Err: context.Canceled}
	r := newRouter(t, llm.Sovereign, Member{Name: "a", Driver: a}, Member{Name: "b", Driver: b})
	if _, err := r.Complete(ctx, hello); err == nil || b.count() != 0 {
		t.Fatalf("err %v, b called %d times", err, b.count())
	}
}

func TestEveryDriverFailing(t *testing.T) {
	a, b := newFake("a", llm.Sovereign), newFake("b", llm.Sovereign)
	a.fail = &llm.TransportError{Op: "connect", Err: errors.New("connection refused")}
	b.fail = &llm.RateLimitedError{StatusCode: 429}
	r := newRouter(t, llm.Sovereign, Member{Name: "a", Driver: a}, Member{Name: "b", Driver: b})
	_, err := r.Complete(context.Background(), hello)
	var ex *ExhaustedError
	var rl *llm.RateLimitedError
	var tr *llm.TransportError
	if !errors.As(err, &ex) || len(ex.Attempts) != 2 || !errors.As(err, &rl) || !errors.As(err, &tr) || !llm.Retryable(err) {
		t.Fatalf("err %v", err)
	}
	if m := r.Metrics(); m[1].Fallbacks != 0 || m[0].Fallbacks != 1 {
		t.Fatalf("metrics %+v: the last driver has nothing to fall back to", m)
	}
}

func TestPrivacy(t *testing.T) {
	local, team, hosted := newFake("local", llm.Sovereign), newFake("team", llm.Private), newFake("hosted", llm.Standard)

	t.Run("a route refuses a member its tier forbids", func(t *testing.T) {
		_, err := New(Options{Name: "r", Privacy: llm.Private}, Member{Name: "local", Driver: local}, Member{Name: "hosted", Driver: hosted})
		var pe *PrivacyError
		if !errors.As(err, &pe) || pe.Tier != llm.Private {
			t.Fatalf("err %v", err)
		}
		if _, err := New(Options{Name: "r"}, Member{Name: "team", Driver: team}); !errors.As(err, &pe) || pe.Tier != llm.Sovereign {
			t.Fatalf("default tier: err %v", err)
		}
	})

	t.Run("a request narrowed to sovereign skips wider drivers", func(t *testing.T) {
		local.fail = &llm.TransportError{Op: "connect", Err: errors.New("connection refused")}
		defer func() { local.fail = nil }()
		r := newRouter(t, llm.Standard, Member{Name: "local", Driver: local}, Member{Name: "team", Driver: team}, Member{Name: "hosted", Driver: hosted})
		before := team.count() + hosted.count()
		_, err := r.Complete(WithPrivacy(context.Background(), llm.Sovereign), hello)
		var pe *PrivacyError
		var tr *llm.TransportError
		if !errors.As(err, &tr) || errors.As(err, &pe) || team.count()+hosted.count() != before {
			t.Fatalf("err %v; wider drivers called %d times", err, team.count()+hosted.count()-before)
		}
		if m := r.Metrics(); m[1].Refused != 0 || m[0].Failures != 1 {
			t.Fatalf("metrics %+v", m)
		}
	})

	t.Run("a request whose tier allows no driver is refused before any is called", func(t *testing.T) {
		r := newRouter(t, llm.Standard, Member{Name: "team", Driver: team}, Member{Name: "hosted", Driver: hosted})
		before := team.count() + hosted.count()
		ctx := WithPrivacy(WithPrivacy(context.Background(), llm.Sovereign), llm.Standard) // narrowing only
		for _, streaming := range []bool{false, true} {
			_, err := complete(r, ctx, hello, streaming)
			var pe *PrivacyError
			if !errors.As(err, &pe) || len(pe.Refused) != 2 || team.count()+hosted.count() != before {
				t.Fatalf("err %v", err)
			}
		}
		if m := r.Metrics(); m[0].Refused != 2 || m[1].Refused != 2 || m[0].Attempts != 0 {
			t.Fatalf("metrics %+v", m)
		}
	})

	t.Run("an opened driver wider than declared is refused", func(t *testing.T) {
		r := newRouter(t, llm.Private,
			Member{Name: "claims-private", Privacy: llm.Private, Open: func(context.Context) (llm.Driver, error) { return hosted, nil }},
			Member{Name: "team", Driver: team})
		before := hosted.count()
		resp, err := r.Complete(context.Background(), hello)
		if err != nil || resp.Served.Driver != "team" || hosted.count() != before {
			t.Fatalf("resp %v, err %v, hosted called %d times", resp, err, hosted.count()-before)
		}
		if m := r.Metrics(); m[0].Refused != 1 || m[0].Attempts != 0 {
			t.Fatalf("metrics %+v", m)
		}
	})
}

func TestMetricsCostAndServed(t *testing.T) {
	a, b := newFake("a", llm.Sovereign), newFake("b", llm.Private)
	a.fail = &llm.RateLimitedError{StatusCode: 503, Overloaded: true}
	a.usage = llm.Usage{InputTokens: 1, OutputTokens: 1}
	b.usage = llm.Usage{InputTokens: 1000, OutputTokens: 2000}
	b.info.ContextWindow = 32768
	r := newRouter(t, llm.Private,
		Member{Name: "a", Driver: a, Price: Price{InputPerMTok: 100, OutputPerMTok: 100}},
		Member{Name: "b", Driver: b, Price: Price{InputPerMTok: 3, OutputPerMTok: 15}})
	if got := r.Info(); got.ContextWindow != 1000 || got.Backend != "router" || got.Privacy != llm.Private {
		t.Fatalf("info before any answer %+v", got)
	}
	const want = (1000*3.0 + 2000*15.0) / 1e6
	for i, streaming := range []bool{false, true} {
		resp, err := complete(r, context.Background(), hello, streaming)
		if err != nil {
			t.Fatal(err)
		}
		s := resp.Served
		if s == nil || s.Driver != "b" || s.Model != "b-model" || s.ContextWindow != 32768 || s.Privacy != llm.Private ||
			s.Attempts != 2 || math.Abs(s.CostUSD-want) > 1e-12 {
			t.Fatalf("call %d: served %+v", i, s)
		}
	}
	m := r.Metrics()
	if m[0].Attempts != 2 || m[0].Failures != 2 || m[0].Fallbacks != 2 || m[0].Successes != 0 || m[0].CostUSD != 0 || m[0].InputTokens != 0 {
		t.Fatalf("a: %+v", m[0])
	}
	if m[1].Attempts != 2 || m[1].Successes != 2 || m[1].InputTokens != 2000 || m[1].OutputTokens != 4000 ||
		math.Abs(m[1].CostUSD-2*want) > 1e-12 || m[1].Latency < 0 || m[1].MeanLatency() != m[1].Latency/2 {
		t.Fatalf("b: %+v", m[1])
	}
	// The route's window is the answering driver's, not the first's.
	if got := r.Info(); got.ContextWindow != 32768 || got.Model != "b-model" {
		t.Fatalf("info after a fallback %+v", got)
	}
}

func TestLazyOpen(t *testing.T) {
	a, b := newFake("a", llm.Sovereign), newFake("b", llm.Sovereign)
	opens := 0
	openErr := error(&llm.BinaryNotFoundError{Name: "llama-server", Where: "PATH"})
	r := newRouter(t, llm.Sovereign,
		Member{Name: "a", Privacy: llm.Sovereign, Open: func(context.Context) (llm.Driver, error) {
			opens++
			if openErr != nil {
				return nil, openErr
			}
			return a, nil
		}},
		Member{Name: "b", Privacy: llm.Sovereign, Open: func(context.Context) (llm.Driver, error) { return b, nil }})
	if opens != 0 || r.Info().ContextWindow != 0 {
		t.Fatal("New or Info opened a driver")
	}
	resp, err := r.Complete(context.Background(), hello)
	if err != nil || resp.Served.Driver != "b" || opens != 1 {
		t.Fatalf("resp %v err %v opens %d", resp, err, opens)
	}
	openErr = nil // installed meanwhile: the next request opens it
	resp, err = r.Complete(context.Background(), hello)
	if err != nil || resp.Served.Driver != "a" || opens != 2 {
		t.Fatalf("resp %v err %v opens %d", resp, err, opens)
	}
	if _, err := r.Complete(context.Background(), hello); err != nil || opens != 2 {
		t.Fatalf("err %v: opened %d times", err, opens)
	}
	if err := r.Close(); err != nil || a.closed != 1 || b.closed != 1 {
		t.Fatalf("close: %v, a closed %d, b closed %d", err, a.closed, b.closed)
	}
	if _, err := r.Complete(context.Background(), hello); !errors.Is(err, llm.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestInvalidRequestReachesNoDriver(t *testing.T) {
	a := newFake("a", llm.Sovereign)
	r := newRouter(t, llm.Sovereign, Member{Name: "a", Driver: a})
	var re *llm.RequestError
	if _, err := r.Complete(context.Background(), llm.Request{}); !errors.As(err, &re) || a.count() != 0 {
		t.Fatalf("err %v, calls %d", err, a.count())
	}
}

func TestNewRefusesBadRoutes(t *testing.T) {
	a := newFake("a", llm.Sovereign)
	for name, members := range map[string][]Member{
		"empty":        nil,
		"unnamed":      {{Driver: a}},
		"twice":        {{Name: "a", Driver: a}, {Name: "a", Driver: a}},
		"nothing":      {{Name: "a"}},
		"open no tier": {{Name: "a", Open: func(context.Context) (llm.Driver, error) { return a, nil }}},
	} {
		if _, err := New(Options{Name: name}, members...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestConcurrentRequestsOpenOnce(t *testing.T) {
	a := newFake("a", llm.Sovereign)
	var mu sync.Mutex
	opens := 0
	r := newRouter(t, llm.Sovereign, Member{Name: "a", Privacy: llm.Sovereign, Open: func(context.Context) (llm.Driver, error) {
		mu.Lock()
		opens++
		mu.Unlock()
		return a, nil
	}})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := complete(r, context.Background(), hello, i%2 == 0); err != nil {
				t.Error(err)
			}
			r.Info()
			r.Metrics()
		})
	}
	wg.Wait()
	if m := r.Metrics(); opens != 1 || m[0].Successes != 16 || m[0].Attempts != 16 {
		t.Fatalf("opened %d times, metrics %+v", opens, m)
	}
}

// richDriver streams reasoning, text and two tool calls, the second
// starting before the first ends, as parallel calls do on OpenAI's wire.
type richDriver struct{ fake }

func (d *richDriver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	a := llm.ToolCall{ID: "call_a", Name: "glob", Input: []byte(`{"pattern":"*.go"}`)}
	b := llm.ToolCall{ID: "call_b", Name: "grep", Input: []byte(`{"pattern":"TODO"}`)}
	events := []llm.Event{
		{Kind: llm.EventReasoningDelta, Text: "Look "},
		{Kind: llm.EventReasoningDelta, Text: "first."},
		{Kind: llm.EventTextDelta, Text: "Checking."},
		{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: a.ID, Name: a.Name}},
		{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name}},
		{Kind: llm.EventToolCallEnd, ToolCall: &a},
		{Kind: llm.EventToolCallEnd, ToolCall: &b},
		{Kind: llm.EventDone, Response: &llm.Response{Text: "Checking.", Reasoning: "Look first.", ToolCalls: []llm.ToolCall{a, b}, StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 7, OutputTokens: 9}}},
	}
	return func(yield func(llm.Event, error) bool) {
		for _, ev := range events {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

func (d *richDriver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return llm.CompleteFromStream(d.Stream(ctx, req))
}

// TestStreamAfterFallbackKeepsTheContract checks that what a stream
// shows after a fallback agrees with its final response: no event of
// the failed driver, every event of the one that answered.
func TestStreamAfterFallbackKeepsTheContract(t *testing.T) {
	a := newFake("a", llm.Sovereign)
	a.fail = &llm.TransportError{Op: "connect", Err: errors.New("connection refused")}
	b := &richDriver{fake: *newFake("b", llm.Sovereign)}
	r := newRouter(t, llm.Sovereign, Member{Name: "a", Driver: a}, Member{Name: "b", Driver: b, Price: Price{InputPerMTok: 1e6}})
	resp, err := llmtest.CheckStream(r.Stream(context.Background(), hello))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ToolCalls) != 2 || resp.Served == nil || resp.Served.Driver != "b" || resp.Served.Attempts != 2 || resp.Served.CostUSD != 7 {
		t.Fatalf("response %+v, served %+v", resp, resp.Served)
	}
}
