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

func TestEstimate(t *testing.T) {
	if got := estimateMessage(llm.UserMessage("12345")); got != 2+tokensPerMessage {
		t.Errorf("5 bytes: %d tokens", got)
	}
	if got := estimateMessage(llm.UserMessage("")); got != tokensPerMessage {
		t.Errorf("empty: %d tokens", got)
	}
	m := llm.Message{Role: llm.RoleAssistant, Content: "abcd", ToolCalls: []llm.ToolCall{call("id", "name", `{}`)}}
	if got := estimateMessage(m); got != 3+tokensPerMessage { // 4+2+4+2 bytes
		t.Errorf("tool call: %d tokens", got)
	}
}

// conversation returns a history of n exchanges, each a user question, an
// assistant turn with two calls and their results, and an answer: five
// messages an exchange.
func conversation(n int) []llm.Message {
	text := func(prefix string, i int) string { return fmt.Sprintf("%-40s", fmt.Sprintf("%s %d", prefix, i)) }
	var h []llm.Message
	for i := range n {
		h = append(h, llm.UserMessage(text("question", i)),
			llm.Message{Role: llm.RoleAssistant, Content: text("looking", i), ToolCalls: []llm.ToolCall{
				call(fmt.Sprintf("a%d", i), "t", `{}`), call(fmt.Sprintf("b%d", i), "t", `{}`)}},
			llm.ToolResultMessage(llm.ToolResult{ToolUseID: fmt.Sprintf("a%d", i), Content: text("result a", i)}),
			llm.ToolResultMessage(llm.ToolResult{ToolUseID: fmt.Sprintf("b%d", i), Content: text("result b", i)}),
			llm.AssistantMessage(text("answer", i)))
	}
	return h
}

// checkFit checks fitContext's promises: the result is a suffix of
// history followed by all of turn, within available tokens, and it does
// not begin with a tool result whose call was left out.
func checkFit(t *testing.T, history, turn, got []llm.Message, dropped, available int) {
	t.Helper()
	if len(got) != len(history)-dropped+len(turn) {
		t.Fatalf("%d messages from %d of history (dropped %d) and %d of the turn", len(got), len(history), dropped, len(turn))
	}
	want := append(append([]llm.Message{}, history[dropped:]...), turn...)
	for i := range got {
		if a, b := fmt.Sprint(got[i]), fmt.Sprint(want[i]); a != b {
			t.Fatalf("message %d is %s, want %s", i, a, b)
		}
	}
	if n := estimateMessages(got); n > available {
		t.Errorf("%d tokens sent, %d available", n, available)
	}
	if dropped > 0 && dropped < len(history) && history[dropped].Role == llm.RoleTool {
		t.Errorf("kept a tool result without its call: %+v", history[dropped])
	}
}

func TestFitContextDropsOldestGroups(t *testing.T) {
	history := conversation(3)
	turn := []llm.Message{llm.UserMessage("now what?")}
	full := estimateMessages(history) + estimateMessages(turn)

	got, dropped, err := fitContext(history, turn, full)
	if err != nil || dropped != 0 {
		t.Fatalf("everything fits: dropped %d, %v", dropped, err)
	}
	checkFit(t, history, turn, got, dropped, full)

	// One token short: the oldest group, the first question, goes.
	got, dropped, err = fitContext(history, turn, full-1)
	if err != nil || dropped != 1 {
		t.Fatalf("dropped %d, %v", dropped, err)
	}
	checkFit(t, history, turn, got, dropped, full-1)

	// Short by more than the question: the assistant turn goes with its
	// two results, never apart from them.
	tight := full - estimateMessage(history[0]) - estimateMessage(history[1])
	got, dropped, err = fitContext(history, turn, tight)
	if err != nil || dropped != 4 {
		t.Fatalf("dropped %d, %v", dropped, err)
	}
	checkFit(t, history, turn, got, dropped, tight)

	// Room for the turn only.
	got, dropped, err = fitContext(history, turn, estimateMessages(turn))
	if err != nil || dropped != len(history) || len(got) != 1 {
		t.Fatalf("dropped %d, %v", dropped, err)
	}
}

// TestFitContextKeepsTheTurn: the query and the turn's work are never
// left out; when they alone do not fit, the error is typed and nothing
// is returned.
func TestFitContextKeepsTheTurn(t *testing.T) {
	history := conversation(2)
	turn := conversation(1)[:4]
	need := estimateMessages(turn)
	got, dropped, err := fitContext(history, turn, need)
	if err != nil {
		t.Fatal(err)
	}
	checkFit(t, history, turn, got, dropped, need)

	for _, available := range []int{need - 1, 0, -500} {
		got, _, err := fitContext(history, turn, available)
		var overflow *llm.ContextOverflowError
		if !errors.As(err, &overflow) || overflow.Required != need || got != nil {
			t.Errorf("available %d: %v, %d messages", available, err, len(got))
		}
	}
}

// TestFitContextOrphanResults: tool results at the start of history,
// whose call is gone, are a group of their own and go first.
func TestFitContextOrphanResults(t *testing.T) {
	history := conversation(2)[2:]
	turn := []llm.Message{llm.UserMessage("q")}
	available := estimateMessages(history[2:]) + estimateMessages(turn)
	got, dropped, err := fitContext(history, turn, available)
	if err != nil || dropped != 2 {
		t.Fatalf("dropped %d, %v", dropped, err)
	}
	checkFit(t, history, turn, got, dropped, available)
}

// FuzzFitContext checks fitContext's promises on conversations built
// from a byte string: each byte adds a message of a role and a length.
func FuzzFitContext(f *testing.F) {
	f.Add([]byte{0, 1, 2, 2, 3, 0, 9}, 40)
	f.Add([]byte{2, 2, 0, 1, 2, 0}, 10)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, spec []byte, available int) {
		var history []llm.Message
		for i, b := range spec {
			text := strings.Repeat("x", int(b>>2))
			switch b % 4 {
			case 0:
				history = append(history, llm.UserMessage(text))
			case 1:
				history = append(history, llm.Message{Role: llm.RoleAssistant, Content: text, ToolCalls: []llm.ToolCall{call(fmt.Sprint(i), "t", `{}`)}})
			case 2:
				history = append(history, llm.ToolResultMessage(llm.ToolResult{ToolUseID: fmt.Sprint(i - 1), Content: text}))
			case 3:
				history = append(history, llm.AssistantMessage(text))
			}
		}
		turn := []llm.Message{llm.UserMessage("query")}
		got, dropped, err := fitContext(history, turn, available)
		if err != nil {
			var overflow *llm.ContextOverflowError
			if !errors.As(err, &overflow) || estimateMessages(turn) <= available {
				t.Fatalf("available %d: %v", available, err)
			}
			return
		}
		checkFit(t, history, turn, got, dropped, available)
		// The cut is at the newest possible group boundary: the group
		// before it would not have fitted.
		if dropped > 0 {
			g := groupStart(history, dropped)
			if estimateMessages(got)+estimateMessages(history[g:dropped]) <= available {
				t.Errorf("dropped %d messages, but %d more would have fitted", dropped, dropped-g)
			}
		}
	})
}

// TestTurnFitsTheWindow: the loop sends only the history that fits the
// driver's window, after the system prompt, the tools and MaxTokens, and
// sends nothing when the query itself does not fit.
func TestTurnFitsTheWindow(t *testing.T) {
	history := conversation(3)
	tool := weatherTool()
	defs, _ := json.Marshal([]llm.ToolDef{tool.Def()})
	system := strings.Repeat("s", 100)
	query := "what next?"
	// Room for the last exchange and the query: the first two go.
	keep := estimateMessages(history[10:]) + estimateMessage(llm.UserMessage(query))
	window := estimateText(system) + estimateText(string(defs)) + 64 + keep
	d := newFakeDriver(answerStep(llm.Usage{}, "ok"))
	d.window = window
	a, _ := newAgent(t, Config{Driver: d, Tools: []Tool{tool}, System: system, MaxTokens: 64})
	if _, err := a.Turn(context.Background(), history, query); err != nil {
		t.Fatal(err)
	}
	sent := d.requests()[0].Messages
	if len(sent) != 6 || sent[0].Content != history[10].Content || sent[5].Content != query {
		t.Errorf("sent %s", jsonOf(t, sent))
	}

	d = newFakeDriver(answerStep(llm.Usage{}, "never"))
	d.window = window
	a, _ = newAgent(t, Config{Driver: d, Tools: []Tool{tool}, System: system, MaxTokens: 64})
	_, err := a.Turn(context.Background(), history, strings.Repeat("q", 4*keep))
	var overflow *llm.ContextOverflowError
	if !errors.As(err, &overflow) || len(d.requests()) != 0 {
		t.Errorf("error %v after %d requests", err, len(d.requests()))
	}

	// Without MaxTokens a quarter of the window is kept for the answer.
	d = newFakeDriver(answerStep(llm.Usage{}, "ok"))
	// The window holds all messages exactly, but a quarter is kept free.
	d.window = estimateMessages(history) + estimateMessage(llm.UserMessage(query))
	a, _ = newAgent(t, Config{Driver: d})
	if _, err := a.Turn(context.Background(), history, query); err != nil {
		t.Fatal(err)
	}
	if n := len(d.requests()[0].Messages); n >= len(history)+1 || n < 2 {
		t.Errorf("sent %d of %d messages with a quarter of the window kept free", n, len(history)+1)
	}
}
