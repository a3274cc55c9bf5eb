package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Limit names the guard that stopped a turn.
type Limit string

// The guards of a turn. Each protects against a model that does not come
// to an end: it would otherwise call the model, and spend its tokens,
// without bound.
const (
	// LimitIterations: the turn made Config.MaxIterations model calls
	// and the model still wanted tools.
	LimitIterations Limit = "iterations"
	// LimitToolCalls: the model asked for more than Config.MaxToolCalls
	// tool calls in the turn.
	LimitToolCalls Limit = "tool_calls"
	// LimitMaxTokens: MaxTokensInARow responses in a row were cut off by
	// the token limit; a model that never finishes an answer within
	// MaxTokens will not finish the next one either.
	LimitMaxTokens Limit = "max_tokens"
	// LimitTokenBudget: the turn's tokens, input and output of all its
	// model calls, went over Config.TokenBudget.
	LimitTokenBudget Limit = "token_budget"
	// LimitRepeatedCall: StuckResponses responses in a row began with the
	// same call (name and input). The repeated call is refused from its
	// third time (see RepeatedCallsAllowed), so a model that still asks
	// for it ignores what it is told.
	LimitRepeatedCall Limit = "repeated_call"
)

const (
	// RepeatedCallsAllowed is how many times a turn runs the same call
	// (same tool, same input): a second identical call can be legitimate
	// (a file read again after an edit), a third is a model going round
	// in circles.
	RepeatedCallsAllowed = 2
	// StuckResponses is how many responses in a row may begin with the
	// same call before the turn is stopped.
	StuckResponses = 4
	// MaxTokensInARow is how many responses in a row may be cut off by
	// the token limit before the turn is stopped.
	MaxTokensInARow = 5
)

// LimitError means a guard stopped the turn: the model did not finish
// within a limit. Limit says which, so that a front end can say what
// stopped it (and exit with its own code).
type LimitError struct {
	Limit Limit
	// Max is the limit's configured value.
	Max int
	// Reason says what happened, for the user.
	Reason string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("turn stopped by the %s limit: %s", e.Limit, e.Reason)
}

// guard keeps one turn's counters. The loop asks it before each model
// call and each batch of tool calls.
type guard struct {
	maxIterations, maxToolCalls, tokenBudget int

	iterations   int
	toolCalls    int
	tokens       int
	maxTokensRun int
	seen         map[string]int
	lastFirst    string
	firstRun     int
}

func newGuard(maxIterations, maxToolCalls, tokenBudget int) *guard {
	return &guard{maxIterations: maxIterations, maxToolCalls: maxToolCalls, tokenBudget: tokenBudget, seen: map[string]int{}}
}

// beforeModelCall counts a model call, or refuses it when one of the
// turn's limits is reached. The limits are checked before a call rather
// than after the answer, so that an answer already paid for is never
// thrown away.
func (g *guard) beforeModelCall() error {
	if g.maxTokensRun >= MaxTokensInARow {
		return &LimitError{Limit: LimitMaxTokens, Max: MaxTokensInARow, Reason: fmt.Sprintf("%d responses in a row were cut off by the token limit", g.maxTokensRun)}
	}
	if g.tokenBudget > 0 && g.tokens > g.tokenBudget {
		return &LimitError{Limit: LimitTokenBudget, Max: g.tokenBudget, Reason: fmt.Sprintf("%d tokens used, budget %d", g.tokens, g.tokenBudget)}
	}
	if g.iterations >= g.maxIterations {
		return &LimitError{Limit: LimitIterations, Max: g.maxIterations, Reason: fmt.Sprintf("%d model calls and the model still calls tools", g.iterations)}
	}
	g.iterations++
	return nil
}

// afterResponse records a response's tokens and whether it was cut off.
func (g *guard) afterResponse(tokens int, cutOff bool) {
	g.tokens += tokens
	if cutOff {
		g.maxTokensRun++
	} else {
		g.maxTokensRun = 0
	}
}

// beforeTools checks a response's calls as a whole, before any runs: the
// tool-call quota, and whether the model is stuck on the same first call.
// Refusing the whole batch keeps every call of the turn answered.
func (g *guard) beforeTools(first string, n int) error {
	if first == g.lastFirst {
		g.firstRun++
	} else {
		g.lastFirst, g.firstRun = first, 1
	}
	if g.firstRun >= StuckResponses {
		return &LimitError{Limit: LimitRepeatedCall, Max: StuckResponses, Reason: fmt.Sprintf("%d responses in a row began with the same call %s", g.firstRun, first)}
	}
	if g.toolCalls+n > g.maxToolCalls {
		return &LimitError{Limit: LimitToolCalls, Max: g.maxToolCalls, Reason: fmt.Sprintf("the model asked for %d tool calls, the limit is %d", g.toolCalls+n, g.maxToolCalls)}
	}
	g.toolCalls += n
	return nil
}

// repeated counts one call and reports how many times the turn has seen
// it, this one included.
func (g *guard) repeated(signature string) int {
	g.seen[signature]++
	return g.seen[signature]
}

// callSignature identifies a call by its tool and its input, so that the
// same input written with other spacing or key order is the same call.
func callSignature(name string, input json.RawMessage) string {
	return name + ":" + string(canonicalJSON(input))
}

// canonicalJSON rewrites a JSON value compactly with sorted object keys;
// numbers keep their text. Input that is not JSON is returned as it is.
func canonicalJSON(input json.RawMessage) []byte {
	if len(bytes.TrimSpace(input)) == 0 {
		return []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(input))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return input
	}
	out, err := json.Marshal(v)
	if err != nil {
		return input
	}
	return out
}
