package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// limitOf returns the limit that stopped a turn, failing the test when
// err is not a *LimitError.
func limitOf(t *testing.T, err error) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("error %v, want a *LimitError", err)
	}
	return le
}

// checkAnswered fails when a tool call in msgs has no result right after
// its turn: a turn's messages are always well formed.
func checkAnswered(t *testing.T, msgs []llm.Message) {
	t.Helper()
	for i, m := range msgs {
		for j, c := range m.ToolCalls {
			k := i + 1 + j
			if k >= len(msgs) || msgs[k].ToolResult == nil || msgs[k].ToolResult.ToolUseID != c.ID {
				t.Errorf("call %s of message %d is not answered: %s", c.ID, i, jsonOf(t, msgs))
			}
		}
	}
}

func TestMaxIterations(t *testing.T) {
	var steps []step
	for i := range 5 {
		steps = append(steps, callStep(llm.Usage{}, "", call(fmt.Sprint("c", i), "get_weather", fmt.Sprintf(`{"city":"Paris","n":%d}`, i))))
	}
	d := newFakeDriver(steps...)
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weatherTool()}, MaxIterations: 3})
	res, err := a.Turn(context.Background(), nil, "q")
	le := limitOf(t, err)
	if le.Limit != LimitIterations || le.Max != 3 || len(d.requests()) != 3 || res.Iterations != 3 {
		t.Errorf("%v after %d requests, %d iterations", le, len(d.requests()), res.Iterations)
	}
	if len(res.Messages) != 1+3*2 || res.ToolCalls != 3 {
		t.Errorf("%d messages, %d calls", len(res.Messages), res.ToolCalls)
	}
	checkAnswered(t, res.Messages)
}

func TestMaxToolCalls(t *testing.T) {
	two := func(i int) step {
		return callStep(llm.Usage{}, "", call(fmt.Sprint("a", i), "get_weather", fmt.Sprintf(`{"city":"Paris","n":%d}`, i)),
			call(fmt.Sprint("b", i), "get_weather", fmt.Sprintf(`{"city":"Lima","n":%d}`, i)))
	}
	d := newFakeDriver(two(1), two(2), answerStep(llm.Usage{}, "never"))
	weather := weatherTool()
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}, MaxToolCalls: 3})
	res, err := a.Turn(context.Background(), nil, "q")
	if le := limitOf(t, err); le.Limit != LimitToolCalls || le.Max != 3 {
		t.Errorf("%v", le)
	}
	// The second batch would pass the quota: none of it runs.
	if n := len(weather.calls()); n != 2 || res.ToolCalls != 2 || len(res.Messages) != 4 {
		t.Errorf("%d tool runs, %d calls, %d messages", n, res.ToolCalls, len(res.Messages))
	}
	checkAnswered(t, res.Messages)
}

// TestRepeatedCallIsRefusedThenStopsTheTurn: the same call (the same
// input, however it is spaced or ordered) runs twice; the third time the
// model gets an error instead; a fourth response that begins with it
// ends the turn.
func TestRepeatedCallIsRefusedThenStopsTheTurn(t *testing.T) {
	inputs := []string{`{"city":"Paris","unit":"C"}`, `{ "unit": "C", "city": "Paris" }`, `{"city":"Paris","unit":"C"}`, `{"unit":"C","city":"Paris"}`}
	var steps []step
	for i, in := range inputs {
		steps = append(steps, callStep(llm.Usage{}, "", call(fmt.Sprint("c", i), "get_weather", in)))
	}
	d := newFakeDriver(append(steps, answerStep(llm.Usage{}, "never"))...)
	weather := weatherTool()
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}})
	res, err := a.Turn(context.Background(), nil, "q")
	if le := limitOf(t, err); le.Limit != LimitRepeatedCall || le.Max != StuckResponses {
		t.Errorf("%v", le)
	}
	if n := len(weather.calls()); n != 2 {
		t.Errorf("the repeated call ran %d times, want 2", n)
	}
	if len(d.requests()) != 4 || len(res.Messages) != 1+3*2 {
		t.Fatalf("%d requests, messages %s", len(d.requests()), jsonOf(t, res.Messages))
	}
	third := res.Messages[6].ToolResult
	if !third.IsError || !strings.Contains(third.Content, "ping-pong") || !strings.Contains(third.Content, "3 times") {
		t.Errorf("third result %+v", third)
	}
	checkAnswered(t, res.Messages)
}

// TestRepeatedCallThenAnswer: a model that reads the refusal and answers
// ends its turn normally.
func TestRepeatedCallThenAnswer(t *testing.T) {
	c := call("c", "get_weather", `{"city":"Lima"}`)
	d := newFakeDriver(callStep(llm.Usage{}, "", c, c, c), answerStep(llm.Usage{}, "18"))
	weather := weatherTool()
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weather}})
	res, err := a.Turn(context.Background(), nil, "q")
	if err != nil {
		t.Fatal(err)
	}
	if len(weather.calls()) != 2 || !res.Messages[4].ToolResult.IsError || res.Messages[3].ToolResult.IsError {
		t.Errorf("%d runs, messages %s", len(weather.calls()), jsonOf(t, res.Messages))
	}
}

// TestConsecutiveMaxTokens: five cut-off responses in a row stop the
// turn; their partial texts are kept.
func TestConsecutiveMaxTokens(t *testing.T) {
	var steps []step
	for i := range MaxTokensInARow + 1 {
		steps = append(steps, cutStep(fmt.Sprint("part ", i)))
	}
	d := newFakeDriver(steps...)
	a, _ := newAgent(t, Config{Driver: d})
	res, err := a.Turn(context.Background(), nil, "q")
	if le := limitOf(t, err); le.Limit != LimitMaxTokens {
		t.Errorf("%v", le)
	}
	if len(d.requests()) != MaxTokensInARow || len(res.Messages) != 1+MaxTokensInARow {
		t.Errorf("%d requests, messages %s", len(d.requests()), jsonOf(t, res.Messages))
	}
	if last := d.requests()[MaxTokensInARow-1].Messages; len(last) != MaxTokensInARow || last[4].Content != "part 3" {
		t.Errorf("last request %s", jsonOf(t, last))
	}
}

// TestMaxTokensCountResets: a response that is not cut off starts the
// count again.
func TestMaxTokensCountResets(t *testing.T) {
	var steps []step
	for i := range 2 * (MaxTokensInARow - 1) {
		if i == MaxTokensInARow-1 {
			steps = append(steps, callStep(llm.Usage{}, "", call("c", "get_weather", `{"city":"Paris"}`)))
		}
		steps = append(steps, cutStep("part"))
	}
	d := newFakeDriver(append(steps, answerStep(llm.Usage{}, "done"))...)
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weatherTool()}})
	if res, err := a.Turn(context.Background(), nil, "q"); err != nil || res.Text != "done" {
		t.Errorf("text %q, error %v", res.Text, err)
	}
}

// TestTokenBudget: once the turn's tokens are over the budget no
// further model call is made; an answer that goes over it is still
// returned.
func TestTokenBudget(t *testing.T) {
	u := llm.Usage{InputTokens: 50, OutputTokens: 10}
	d := newFakeDriver(
		callStep(u, "", call("c1", "get_weather", `{"city":"Paris"}`)),
		callStep(u, "", call("c2", "get_weather", `{"city":"Lima"}`)),
		answerStep(u, "never"))
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{weatherTool()}, TokenBudget: 100})
	res, err := a.Turn(context.Background(), nil, "q")
	if le := limitOf(t, err); le.Limit != LimitTokenBudget || le.Max != 100 {
		t.Errorf("%v", le)
	}
	if len(d.requests()) != 2 || res.Usage.Total() != 120 || len(res.Messages) != 5 {
		t.Errorf("%d requests, usage %+v, %d messages", len(d.requests()), res.Usage, len(res.Messages))
	}

	d = newFakeDriver(callStep(u, "", call("c1", "get_weather", `{"city":"Paris"}`)), answerStep(u, "12"))
	a, _ = newAgent(t, Config{Driver: d, Tools: []Tool{weatherTool()}, TokenBudget: 100})
	if res, err := a.Turn(context.Background(), nil, "q"); err != nil || res.Text != "12" {
		t.Errorf("answer over budget: %q, %v", res.Text, err)
	}
}

func TestCallSignatureIsCanonical(t *testing.T) {
	same := [][2]string{
		{`{"a":1,"b":[1,2]}`, ` { "b" : [1, 2], "a" : 1 } `},
		{``, `{}`},
		{`{"n":1.50}`, `{"n":1.50}`},
	}
	for _, p := range same {
		if a, b := callSignature("t", json.RawMessage(p[0])), callSignature("t", json.RawMessage(p[1])); a != b {
			t.Errorf("%s and %s differ: %s, %s", p[0], p[1], a, b)
		}
	}
	differ := [][2]string{
		{`{"a":1}`, `{"a":2}`},
		{`{"n":1.5}`, `{"n":1.50}`},
		{`{"a":"x"}`, `{"a":"x "}`},
	}
	for _, p := range differ {
		if callSignature("t", json.RawMessage(p[0])) == callSignature("t", json.RawMessage(p[1])) {
			t.Errorf("%s and %s are the same call", p[0], p[1])
		}
	}
	if callSignature("a", json.RawMessage(`{}`)) == callSignature("b", json.RawMessage(`{}`)) {
		t.Error("two tools, one signature")
	}
}

// FuzzCanonicalJSON: canonical JSON is stable (canonicalising twice
// changes nothing) and means the same value as the input.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null]}`, ` { "z" : "\u00e9", "a" : {"y":1,"x":2} } `, `[1e3, 0.10]`, `"x"`, `{`, ``, `{} {}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := canonicalJSON(json.RawMessage(s))
		if again := canonicalJSON(c); string(again) != string(c) {
			t.Fatalf("not stable: %q -> %q -> %q", s, c, again)
		}
		var in, out any
		if json.Unmarshal([]byte(s), &in) != nil {
			return
		}
		if err := json.Unmarshal(c, &out); err != nil {
			t.Fatalf("%q canonicalised to invalid %q", s, c)
		}
		if fmt.Sprint(in) != fmt.Sprint(out) {
			t.Fatalf("%q means %v, canonical %q means %v", s, in, c, out)
		}
	})
}
