package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// step is one scripted model call: the events the stream yields, then
// either err or an EventDone with resp.
type step struct {
	events []llm.Event
	resp   *llm.Response
	err    error
	// block makes the stream wait for its context to end and fail with
	// its error.
	block bool
}

// fakeDriver answers model calls from a script, one step a call, and
// records every request.
type fakeDriver struct {
	window int

	mu    sync.Mutex
	steps []step
	reqs  []llm.Request
}

func newFakeDriver(steps ...step) *fakeDriver { return &fakeDriver{steps: steps} }

func (d *fakeDriver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	d.mu.Lock()
	req.Messages = slices.Clone(req.Messages)
	d.reqs = append(d.reqs, req)
	var s step
	if len(d.steps) == 0 {
		s = step{err: errors.New("fake driver: script exhausted")}
	} else {
		s, d.steps = d.steps[0], d.steps[1:]
	}
	d.mu.Unlock()
	return func(yield func(llm.Event, error) bool) {
		if s.block {
			<-ctx.Done()
			yield(llm.Event{}, ctx.Err())
			return
		}
		for _, ev := range s.events {
			if ctx.Err() != nil {
				yield(llm.Event{}, ctx.Err())
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
		if s.err != nil {
			yield(llm.Event{}, s.err)
			return
		}
		yield(llm.Event{Kind: llm.EventDone, Response: s.resp}, nil)
	}
}

func (d *fakeDriver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return llm.CompleteFromStream(d.Stream(ctx, req))
}

func (d *fakeDriver) Info() llm.Info {
	return llm.Info{Model: "fake", ContextWindow: d.window, Backend: "fake", Privacy: llm.Sovereign}
}

func (d *fakeDriver) Close() error { return nil }

func (d *fakeDriver) requests() []llm.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reqs)
}

// answerStep is a response that ends the turn with text, streamed in
// the given pieces.
func answerStep(usage llm.Usage, pieces ...string) step {
	s := step{resp: &llm.Response{Text: strings.Join(pieces, ""), StopReason: llm.StopEndTurn, Usage: usage}}
	for _, p := range pieces {
		s.events = append(s.events, llm.Event{Kind: llm.EventTextDelta, Text: p})
	}
	return s
}

// callStep is a response with text and tool calls.
func callStep(usage llm.Usage, text string, calls ...llm.ToolCall) step {
	s := step{resp: &llm.Response{Text: text, ToolCalls: calls, StopReason: llm.StopToolUse, Usage: usage}}
	if text != "" {
		s.events = append(s.events, llm.Event{Kind: llm.EventTextDelta, Text: text})
	}
	for i := range calls {
		c := calls[i]
		s.events = append(s.events,
			llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: c.ID, Name: c.Name}},
			llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c})
	}
	return s
}

// cutStep is a response cut off by the token limit.
func cutStep(text string) step {
	return step{events: []llm.Event{{Kind: llm.EventTextDelta, Text: text}},
		resp: &llm.Response{Text: text, StopReason: llm.StopMaxTokens, Usage: llm.Usage{InputTokens: 1, OutputTokens: 1}}}
}

func call(id, name, input string) llm.ToolCall {
	return llm.ToolCall{ID: id, Name: name, Input: json.RawMessage(input)}
}

// fakeTool records its inputs and answers with run.
type fakeTool struct {
	name string
	run  func(ctx context.Context, input json.RawMessage) (string, error)

	mu     sync.Mutex
	inputs []string
}

func (t *fakeTool) Def() llm.ToolDef {
	return llm.ToolDef{Name: t.name, Description: "test tool " + t.name, InputSchema: json.RawMessage(`{"type":"object"}`)}
}

func (t *fakeTool) Run(ctx context.Context, input json.RawMessage) (string, error) {
	t.mu.Lock()
	t.inputs = append(t.inputs, string(input))
	t.mu.Unlock()
	return t.run(ctx, input)
}

func (t *fakeTool) calls() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.inputs)
}

// weatherTool answers with the temperature of the input's city.
func weatherTool() *fakeTool {
	temps := map[string]string{"Paris": "12", "Lima": "18"}
	return &fakeTool{name: "get_weather", run: func(_ context.Context, input json.RawMessage) (string, error) {
		var in struct{ City string }
		if err := json.Unmarshal(input, &in); err != nil {
			return "", err
		}
		t, ok := temps[in.City]
		if !ok {
			return "", fmt.Errorf("no weather for %q", in.City)
		}
		return t, nil
	}}
}

// recorder collects a turn's events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) on(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []EventKind
	for _, e := range r.events {
		ks = append(ks, e.Kind)
	}
	return ks
}

func (r *recorder) of(kind EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var es []Event
	for _, e := range r.events {
		if e.Kind == kind {
			es = append(es, e)
		}
	}
	return es
}

// waits records the retry waits instead of spending them.
type waits struct {
	mu sync.Mutex
	ds []time.Duration
}

func (w *waits) wait(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.ds = append(w.ds, d)
	w.mu.Unlock()
	return ctx.Err()
}

// newAgent returns an agent over d whose retry waits are recorded, not
// spent.
func newAgent(t *testing.T, c Config) (*Agent, *waits) {
	t.Helper()
	a, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	w := &waits{}
	a.wait = w.wait
	return a, w
}

// jsonOf renders messages for comparisons and failure messages.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
