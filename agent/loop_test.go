package agent

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// TestTurnRunsToolsAndSendsResultsBack: a response with two calls gets
// both run, in order, and the next request carries the assistant turn and
// both results together, in order, with the calls' ids; the turn's
// messages, usage and counts add up, and the caller's history is left
// as it was.
func TestTurnRunsToolsAndSendsResultsBack(t *testing.T) {
	d := newFakeDriver(
		callStep(llm.Usage{InputTokens: 10, OutputTokens: 5}, "Checking both.",
			call("call-1", "get_weather", `{"city":"Paris"}`),
			call("call-2", "get_weather", `{"city":"Lima"}`)),
		answerStep(llm.Usage{InputTokens: 30, OutputTokens: 7}, "Paris 12, ", "Lima 18."),
	)
	weather := weatherTool()
	rec := &recorder{}
	temp := 0.2
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}, System: "be terse", MaxTokens: 256, Temperature: &temp, OnEvent: rec.on})
	history := []llm.Message{llm.UserMessage("hi"), llm.AssistantMessage("hello")}
	before := jsonOf(t, history)

	res, err := a.Turn(context.Background(), history, "weather in Paris and Lima?")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Paris 12, Lima 18." || res.Iterations != 2 || res.ToolCalls != 2 {
		t.Errorf("result text %q, iterations %d, calls %d", res.Text, res.Iterations, res.ToolCalls)
	}
	if res.Usage != (llm.Usage{InputTokens: 40, OutputTokens: 12}) {
		t.Errorf("usage %+v", res.Usage)
	}
	if got := weather.calls(); !slices.Equal(got, []string{`{"city":"Paris"}`, `{"city":"Lima"}`}) {
		t.Errorf("tool inputs %q", got)
	}
	if jsonOf(t, history) != before {
		t.Errorf("history changed: %s", jsonOf(t, history))
	}

	wantTurn := []llm.Message{
		llm.UserMessage("weather in Paris and Lima?"),
		{Role: llm.RoleAssistant, Content: "Checking both.", ToolCalls: []llm.ToolCall{
			call("call-1", "get_weather", `{"city":"Paris"}`), call("call-2", "get_weather", `{"city":"Lima"}`)}},
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "call-1", Name: "get_weather", Content: "12"}),
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "call-2", Name: "get_weather", Content: "18"}),
	}
	reqs := d.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if got, want := jsonOf(t, reqs[0].Messages), jsonOf(t, append(slices.Clone(history), wantTurn[0])); got != want {
		t.Errorf("first request\n got %s\nwant %s", got, want)
	}
	if got, want := jsonOf(t, reqs[1].Messages), jsonOf(t, append(slices.Clone(history), wantTurn...)); got != want {
		t.Errorf("second request\n got %s\nwant %s", got, want)
	}
	for _, r := range reqs {
		if r.System != "be terse" || r.MaxTokens != 256 || r.Temperature == nil || *r.Temperature != 0.2 || len(r.Tools) != 1 || r.Tools[0].Name != "get_weather" {
			t.Errorf("request settings: system %q, max tokens %d, temperature %v, tools %v", r.System, r.MaxTokens, r.Temperature, r.Tools)
		}
	}
	wantAll := append(slices.Clone(wantTurn), llm.AssistantMessage("Paris 12, Lima 18."))
	if got, want := jsonOf(t, res.Messages), jsonOf(t, wantAll); got != want {
		t.Errorf("turn messages\n got %s\nwant %s", got, want)
	}

	wantKinds := []EventKind{EventModelCall, EventTextDelta, EventToolStart, EventToolEnd, EventToolStart, EventToolEnd,
		EventModelCall, EventTextDelta, EventTextDelta, EventDone}
	if got := rec.kinds(); !slices.Equal(got, wantKinds) {
		t.Errorf("events %v, want %v", got, wantKinds)
	}
	ends := rec.of(EventToolEnd)
	if len(ends) != 2 || ends[0].Call.ID != "call-1" || ends[0].Result.Content != "12" || ends[1].Result.ToolUseID != "call-2" || ends[1].Iteration != 1 {
		t.Errorf("tool end events %+v", ends)
	}
	if done := rec.of(EventDone); len(done) != 1 || done[0].Text != res.Text || done[0].Iteration != 2 {
		t.Errorf("done events %+v", done)
	}
}

// TestTextDeltasArriveInOrder: every piece of text and reasoning reaches
// OnEvent as the driver yields it, and the answer is the text pieces
// joined.
func TestTextDeltasArriveInOrder(t *testing.T) {
	pieces := []string{"The ", "answer ", "is ", "4", "2", "."}
	s := answerStep(llm.Usage{}, pieces...)
	s.events = append([]llm.Event{{Kind: llm.EventReasoningDelta, Text: "think "}, {Kind: llm.EventReasoningDelta, Text: "hard"}}, s.events...)
	s.resp.Reasoning = "think hard"
	rec := &recorder{}
	a, _ := newAgent(t, Config{Driver: newFakeDriver(s), OnEvent: rec.on})
	res, err := a.Turn(context.Background(), nil, "question")
	if err != nil {
		t.Fatal(err)
	}
	var text, reasoning []string
	for _, e := range rec.of(EventTextDelta) {
		text = append(text, e.Text)
	}
	for _, e := range rec.of(EventReasoningDelta) {
		reasoning = append(reasoning, e.Text)
	}
	if !slices.Equal(text, pieces) || strings.Join(text, "") != res.Text {
		t.Errorf("text deltas %q, answer %q", text, res.Text)
	}
	if strings.Join(reasoning, "") != "think hard" {
		t.Errorf("reasoning deltas %q", reasoning)
	}
	last := res.Messages[len(res.Messages)-1]
	if last.Content != "The answer is 42." || last.Reasoning != "think hard" {
		t.Errorf("final message %+v", last)
	}
}

// TestRefusedCallsGetErrorResults: a call of a tool that does not exist
// and a call whose input is not JSON are not run; the model receives
// error results that say why, and the recorded turn stays valid.
func TestRefusedCallsGetErrorResults(t *testing.T) {
	d := newFakeDriver(
		callStep(llm.Usage{}, "", call("c1", "nope", `{}`), call("c2", "get_weather", `{"city":`), call("c3", "get_weather", `{"city":"Lima"}`)),
		answerStep(llm.Usage{}, "done"),
	)
	weather := weatherTool()
	rec := &recorder{}
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}, OnEvent: rec.on})
	res, err := a.Turn(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if got := weather.calls(); !slices.Equal(got, []string{`{"city":"Lima"}`}) {
		t.Errorf("tool ran with %q", got)
	}
	msgs := d.requests()[1].Messages
	if len(msgs) != 5 {
		t.Fatalf("second request %s", jsonOf(t, msgs))
	}
	r1, r2, r3 := msgs[2].ToolResult, msgs[3].ToolResult, msgs[4].ToolResult
	if !r1.IsError || !strings.HasPrefix(r1.Content, "unknown tool: nope") || !strings.Contains(r1.Content, "get_weather") || r1.ToolUseID != "c1" {
		t.Errorf("unknown tool result %+v", r1)
	}
	if !r2.IsError || !strings.Contains(r2.Content, "not JSON") || r2.ToolUseID != "c2" {
		t.Errorf("invalid input result %+v", r2)
	}
	if r3.IsError || r3.Content != "18" {
		t.Errorf("valid call result %+v", r3)
	}
	for _, m := range res.Messages {
		if err := m.Validate(); err != nil {
			t.Errorf("turn message %+v: %v", m, err)
		}
	}
	if got := string(res.Messages[1].ToolCalls[1].Input); got != `"{\"city\":"` {
		t.Errorf("invalid input recorded as %s", got)
	}
	if n := len(rec.of(EventToolEnd)); n != 3 {
		t.Errorf("%d tool end events, want one for each call", n)
	}
}

// TestToolFailuresAreTheModelsToRead: a tool's error, a tool that runs
// past ToolTimeout and a tool that panics each give an error result,
// and the turn goes on.
func TestToolFailuresAreTheModelsToRead(t *testing.T) {
	failing := &fakeTool{name: "fail", run: func(context.Context, json.RawMessage) (string, error) {
		return "", errors.New("file not found: a.go")
	}}
	slow := &fakeTool{name: "slow", run: func(ctx context.Context, _ json.RawMessage) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}}
	panicky := &fakeTool{name: "panicky", run: func(context.Context, json.RawMessage) (string, error) {
		panic("index out of range")
	}}
	d := newFakeDriver(
		callStep(llm.Usage{}, "", call("c1", "fail", `{}`), call("c2", "slow", `{}`), call("c3", "panicky", `{}`)),
		answerStep(llm.Usage{}, "sorry"),
	)
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{failing, slow, panicky}, ToolTimeout: time.Millisecond})
	res, err := a.Turn(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"file not found: a.go", "tool 'slow' timed out after 1ms", "tool 'panicky' failed: internal error: index out of range"}
	for i, m := range res.Messages[2:5] {
		if r := m.ToolResult; !r.IsError || r.Content != want[i] {
			t.Errorf("result %d: %+v, want error %q", i, r, want[i])
		}
	}
	if res.Text != "sorry" {
		t.Errorf("answer %q", res.Text)
	}
}

// TestCancelDuringToolStopsTheTurn: a cancelled context stops the turn
// after the running tool, runs no further tool and makes no further
// model call; the unfinished step is not in the result.
func TestCancelDuringToolStopsTheTurn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &fakeTool{name: "first", run: func(ctx context.Context, _ json.RawMessage) (string, error) {
		cancel()
		return "", ctx.Err()
	}}
	second := &fakeTool{name: "second", run: func(context.Context, json.RawMessage) (string, error) { return "ran", nil }}
	d := newFakeDriver(
		callStep(llm.Usage{}, "", call("c1", "first", `{}`), call("c2", "second", `{}`)),
		answerStep(llm.Usage{}, "never"),
	)
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{first, second}})
	res, err := a.Turn(ctx, nil, "q")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(second.calls()) != 0 || len(d.requests()) != 1 {
		t.Errorf("after cancel: second tool ran %d times, %d requests", len(second.calls()), len(d.requests()))
	}
	if len(res.Messages) != 1 || res.Messages[0].Role != llm.RoleUser {
		t.Errorf("messages %s", jsonOf(t, res.Messages))
	}
}

// TestCancelDuringModelCall: cancelling while the model streams ends the
// turn with the context's error and no retry.
func TestCancelDuringModelCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := newFakeDriver(step{block: true}, answerStep(llm.Usage{}, "never"))
	a, _ := newAgent(t, Config{Driver: d, OnEvent: func(e Event) {
		if e.Kind == EventModelCall {
			cancel()
		}
	}})
	_, err := a.Turn(ctx, nil, "q")
	if !errors.Is(err, context.Canceled) || len(d.requests()) != 1 {
		t.Errorf("error %v after %d requests", err, len(d.requests()))
	}
}

// TestMaxTokensKeepsThePartialText: a response cut off by the token
// limit stays in the conversation, its calls dropped, and the model is
// asked again.
func TestMaxTokensKeepsThePartialText(t *testing.T) {
	cut := cutStep("Let me look")
	cut.resp.ToolCalls = []llm.ToolCall{call("c1", "get_weather", `{"city":"Paris"}`)}
	d := newFakeDriver(cut, answerStep(llm.Usage{}, "It is 12."))
	weather := weatherTool()
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}})
	res, err := a.Turn(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if len(weather.calls()) != 0 {
		t.Errorf("the cut-off response's call ran")
	}
	second := d.requests()[1].Messages
	if len(second) != 2 || second[1].Role != llm.RoleAssistant || second[1].Content != "Let me look" || len(second[1].ToolCalls) != 0 {
		t.Errorf("second request %s", jsonOf(t, second))
	}
	if len(res.Messages) != 3 || res.Text != "It is 12." {
		t.Errorf("turn %s, text %q", jsonOf(t, res.Messages), res.Text)
	}
}

// TestNewChecksConfig: a missing driver, duplicate or nameless tools and
// negative limits are errors.
func TestNewChecksConfig(t *testing.T) {
	d := newFakeDriver()
	bad := map[string]Config{
		"no driver":          {},
		"duplicate tools":    {Driver: d, Tools: []Tool{weatherTool(), weatherTool()}},
		"nameless tool":      {Driver: d, Tools: []Tool{&fakeTool{}}},
		"nil tool":           {Driver: d, Tools: []Tool{nil}},
		"negative iteration": {Driver: d, MaxIterations: -1},
		"negative budget":    {Driver: d, TokenBudget: -1},
		"negative delay":     {Driver: d, RetryDelay: -time.Second},
		"negative attempts":  {Driver: d, RetryAttempts: -1},
		"negative timeout":   {Driver: d, ToolTimeout: -time.Second},
		"negative tokens":    {Driver: d, MaxTokens: -1},
	}
	for name, c := range bad {
		var ce *llm.ConfigError
		if _, err := New(c); !errors.As(err, &ce) {
			t.Errorf("%s: error %v, want *llm.ConfigError", name, err)
		}
	}
	a, err := New(Config{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	if a.maxIterations != DefaultMaxIterations || a.maxToolCalls != DefaultMaxToolCalls || a.retryAttempts != DefaultRetryAttempts || a.retryDelay != DefaultRetryDelay {
		t.Errorf("defaults: %d iterations, %d calls, %d attempts, %s delay", a.maxIterations, a.maxToolCalls, a.retryAttempts, a.retryDelay)
	}
	if _, err := a.Turn(context.Background(), nil, "  "); err == nil {
		t.Error("an empty query was accepted")
	}
}

// TestStopReasonDoesNotDecide: calls are run even when the response says
// it ended its turn, and a response that claims tool use but has no
// calls is the answer.
func TestStopReasonDoesNotDecide(t *testing.T) {
	withCalls := callStep(llm.Usage{}, "", call("c1", "get_weather", `{"city":"Lima"}`))
	withCalls.resp.StopReason = llm.StopEndTurn
	noCalls := answerStep(llm.Usage{}, "18 in Lima")
	noCalls.resp.StopReason = llm.StopToolUse
	d := newFakeDriver(withCalls, noCalls, answerStep(llm.Usage{}, "never"))
	weather := weatherTool()
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}})
	res, err := a.Turn(context.Background(), nil, "q")
	if err != nil || res.Text != "18 in Lima" || len(weather.calls()) != 1 || len(d.requests()) != 2 {
		t.Errorf("text %q, error %v, %d tool runs, %d requests", res.Text, err, len(weather.calls()), len(d.requests()))
	}
}

func TestEventKindNames(t *testing.T) {
	for k := EventModelCall; k <= EventDone; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "EventKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if s := EventKind(99).String(); s != "EventKind(99)" {
		t.Errorf("unknown kind: %q", s)
	}
}
