package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tetherllm/tether/llm"
)

// The defaults of Config's zero values.
const (
	DefaultMaxIterations = 50
	DefaultMaxToolCalls  = 200
	DefaultRetryAttempts = 4
	DefaultRetryDelay    = time.Second
)

// Config sets up an [Agent]. Zero values take the defaults above; a
// negative value is an error, never silently replaced.
type Config struct {
	// Driver runs the model. Required.
	Driver llm.Driver
	// Tools are offered to the model in this order, which keeps the
	// prompt the same from run to run. Names must be unique.
	Tools []Tool
	// System is the system prompt.
	System string
	// MaxTokens bounds each model call's answer; 0 leaves it to the
	// driver. It is also the room kept free for the answer when old
	// messages are left out to fit the context window; with 0, a quarter
	// of the window is kept free.
	MaxTokens int
	// Temperature is the sampling temperature; nil leaves it to the
	// driver.
	Temperature *float64

	// MaxIterations bounds the model calls of one turn.
	MaxIterations int
	// MaxToolCalls bounds the tool calls of one turn.
	MaxToolCalls int
	// TokenBudget bounds the tokens (input and output) of one turn's
	// model calls: once they are over it, no further call is made. 0
	// means no budget.
	TokenBudget int
	// ToolTimeout bounds each tool call; one that runs longer gets an
	// error result that says so. 0 means no bound.
	ToolTimeout time.Duration

	// RetryAttempts is how many times a model call is tried when it
	// fails with a retryable error; 1 never retries.
	RetryAttempts int
	// RetryDelay is the wait after the first failed attempt, doubled
	// after each further one, unless the server said how long to wait.
	RetryDelay time.Duration

	// OnEvent, when set, receives the turn's events as they happen, on
	// the goroutine that runs Turn: a slow OnEvent slows the turn, and no
	// event is ever dropped.
	OnEvent func(Event)
	// Logger receives the loop's diagnostics; nil discards them.
	Logger *slog.Logger
}

// Agent runs turns of a conversation: it asks the model, runs the tools
// it calls, sends the results back, and repeats until the model answers.
// An Agent holds no conversation state; it is safe for concurrent turns
// when its tools and OnEvent are.
type Agent struct {
	driver      llm.Driver
	tools       map[string]Tool
	defs        []llm.ToolDef
	toolNames   string
	system      string
	maxTokens   int
	temperature *float64
	// fixedTokens estimates what every request carries besides its
	// messages: the system prompt and the tool definitions.
	fixedTokens int

	maxIterations, maxToolCalls, tokenBudget int
	toolTimeout                              time.Duration
	retryAttempts                            int
	retryDelay                               time.Duration

	onEvent func(Event)
	log     *slog.Logger
	// wait waits between attempts; tests replace it to observe delays
	// without spending them.
	wait func(context.Context, time.Duration) error
}

// New checks c and returns an Agent.
func New(c Config) (*Agent, error) {
	if c.Driver == nil {
		return nil, &llm.ConfigError{Setting: "Driver", Value: "nil", Reason: "the agent needs a driver"}
	}
	a := &Agent{
		driver:      c.Driver,
		tools:       make(map[string]Tool, len(c.Tools)),
		system:      c.System,
		temperature: c.Temperature,
		toolTimeout: c.ToolTimeout,
		onEvent:     c.OnEvent,
		log:         c.Logger,
		wait:        sleep,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if a.maxTokens, err = orDefault("MaxTokens", c.MaxTokens, 0); err != nil {
		return nil, err
	}
	if a.maxIterations, err = orDefault("MaxIterations", c.MaxIterations, DefaultMaxIterations); err != nil {
		return nil, err
	}
	if a.maxToolCalls, err = orDefault("MaxToolCalls", c.MaxToolCalls, DefaultMaxToolCalls); err != nil {
		return nil, err
	}
	if a.tokenBudget, err = orDefault("TokenBudget", c.TokenBudget, 0); err != nil {
		return nil, err
	}
	if a.retryAttempts, err = orDefault("RetryAttempts", c.RetryAttempts, DefaultRetryAttempts); err != nil {
		return nil, err
	}
	if a.retryDelay, err = orDefault("RetryDelay", c.RetryDelay, DefaultRetryDelay); err != nil {
		return nil, err
	}
	if _, err = orDefault("ToolTimeout", c.ToolTimeout, 0); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(c.Tools))
	for i, t := range c.Tools {
		if t == nil {
			return nil, &llm.ConfigError{Setting: "Tools", Value: "nil", Reason: fmt.Sprintf("tool %d is nil", i)}
		}
		def := t.Def()
		if def.Name == "" {
			return nil, &llm.ConfigError{Setting: "Tools", Value: def.Description, Reason: fmt.Sprintf("tool %d has no name", i)}
		}
		if _, dup := a.tools[def.Name]; dup {
			return nil, &llm.ConfigError{Setting: "Tools", Value: def.Name, Reason: "two tools have this name; the model could not tell them apart"}
		}
		a.tools[def.Name] = t
		a.defs = append(a.defs, def)
		names = append(names, def.Name)
	}
	a.toolNames = strings.Join(names, ", ")
	a.fixedTokens = estimateText(c.System)
	if len(a.defs) > 0 {
		js, err := json.Marshal(a.defs)
		if err != nil {
			return nil, &llm.ConfigError{Setting: "Tools", Value: a.toolNames, Reason: "the definitions are not JSON: " + err.Error()}
		}
		a.fixedTokens += estimateText(string(js))
	}
	return a, nil
}

// orDefault returns v, or def when v is zero; a negative v is an error.
func orDefault[T int | time.Duration](setting string, v, def T) (T, error) {
	switch {
	case v < 0:
		return 0, &llm.ConfigError{Setting: setting, Value: fmt.Sprint(v), Reason: "must not be negative"}
	case v == 0:
		return def, nil
	}
	return v, nil
}

// TurnResult is what a turn did.
type TurnResult struct {
	// Text is the model's answer: the text of its last response.
	Text string
	// Messages are the turn's messages, for the caller to append to its
	// history: the user's query, each assistant turn followed by its tool
	// results, the text of responses cut off by the token limit, and the
	// final answer (left out when the model answered nothing at all).
	//
	// When Turn returns an error they are the messages of the steps that
	// were completed, every tool call answered, so a caller may keep
	// them (to save the work of a turn a guard stopped) or drop them, as
	// Turn itself does: it never changes the caller's history.
	Messages []llm.Message
	// Usage sums the usage of the turn's model calls.
	Usage llm.Usage
	// Iterations counts the model calls, retries not included.
	Iterations int
	// ToolCalls counts the tool calls the model made and got an answer
	// for, refused ones included.
	ToolCalls int
}

// Turn runs one user query to its answer. history is the conversation
// so far; it is read, never changed.
//
// Each model call is streamed, its text and reasoning going to OnEvent as
// they arrive. When the response calls tools, they run one after the
// other in the model's order, and the assistant turn and then one tool
// message per call are added to the conversation; the model is called
// again, until it answers without calling a tool. The calls of a
// response are run whatever its stop reason says (some servers end a
// tool-calling turn with "stop"), and a response without calls ends the
// turn (asking again would get the same answer). A call of a tool that
// does not exist, with input that is not JSON, or repeated a third time
// with the same input is not run: its result is an error that tells the
// model why. A response cut off by the token limit keeps its text (its
// tool calls, possibly incomplete, are dropped) and the model is called
// again.
//
// A guard that stops the turn returns a *LimitError; a conversation that
// cannot fit the context window even without its history, an
// *llm.ContextOverflowError; a driver error, that error after any retries
// (see Config.RetryAttempts); a cancelled ctx, its error.
func (a *Agent) Turn(ctx context.Context, history []llm.Message, query string) (TurnResult, error) {
	if strings.TrimSpace(query) == "" {
		return TurnResult{}, errors.New("the query is empty")
	}
	g := newGuard(a.maxIterations, a.maxToolCalls, a.tokenBudget)
	res := TurnResult{Messages: []llm.Message{llm.UserMessage(query)}}
	for {
		if err := g.beforeModelCall(); err != nil {
			return res, err
		}
		it := g.iterations
		res.Iterations = it
		req, err := a.request(history, res.Messages, it)
		if err != nil {
			return res, fmt.Errorf("model call %d: %w", it, err)
		}
		a.emit(Event{Kind: EventModelCall, Iteration: it})
		resp, err := a.callModel(ctx, req, it)
		if err != nil {
			return res, err
		}
		res.Usage = res.Usage.Add(resp.Usage)
		cutOff := resp.StopReason == llm.StopMaxTokens || resp.StopReason == llm.StopContextWindow
		g.afterResponse(resp.Usage.Total(), cutOff)
		a.log.Debug("model answered", "iteration", it, "stop", resp.StopReason, "calls", len(resp.ToolCalls), "usage", resp.Usage)

		switch {
		case cutOff:
			// The partial text stays in the conversation so that the
			// model can go on from it rather than start over.
			if resp.Text != "" || resp.Reasoning != "" {
				res.Messages = append(res.Messages, llm.Message{Role: llm.RoleAssistant, Content: resp.Text, Reasoning: resp.Reasoning})
			}
		case len(resp.ToolCalls) == 0:
			if resp.Text != "" || resp.Reasoning != "" {
				res.Messages = append(res.Messages, resp.Message())
			}
			res.Text = resp.Text
			a.emit(Event{Kind: EventDone, Iteration: it, Text: resp.Text})
			return res, nil
		default:
			first := resp.ToolCalls[0]
			if err := g.beforeTools(callSignature(first.Name, first.Input), len(resp.ToolCalls)); err != nil {
				return res, err
			}
			results, err := a.runTools(ctx, g, resp.ToolCalls, it)
			if err != nil {
				return res, err
			}
			res.Messages = append(res.Messages, recordedTurn(resp))
			res.Messages = append(res.Messages, results...)
			res.ToolCalls += len(resp.ToolCalls)
		}
	}
}

// request builds the request of one model call, with as much of history
// as fits the driver's context window.
func (a *Agent) request(history, turn []llm.Message, iteration int) (llm.Request, error) {
	req := llm.Request{System: a.system, Tools: a.defs, MaxTokens: a.maxTokens, Temperature: a.temperature}
	window := a.driver.Info().ContextWindow
	if window <= 0 {
		// Unknown window: send everything and let the driver judge.
		req.Messages = append(slices.Clip(history), turn...)
		return req, nil
	}
	reserve := a.maxTokens
	if reserve == 0 {
		reserve = window / 4
	}
	available := window - a.fixedTokens - reserve
	msgs, dropped, err := fitContext(history, turn, available)
	if err != nil {
		return req, fmt.Errorf("fitting the %d-token context window (estimated): %w", window, err)
	}
	if dropped > 0 {
		a.log.Debug("left old messages out to fit the context window", "iteration", iteration, "dropped", dropped, "kept", len(msgs), "window", window)
	}
	req.Messages = msgs
	return req, nil
}

// recordedTurn is the assistant turn as the conversation keeps it. Input
// that is not JSON is kept as a JSON string of its text: the model can
// see what it wrote, and the message stays valid for every driver.
func recordedTurn(resp *llm.Response) llm.Message {
	m := resp.Message()
	for i, c := range m.ToolCalls {
		if len(c.Input) > 0 && !json.Valid(c.Input) {
			m.ToolCalls[i].Input = json.RawMessage(strconv.Quote(string(c.Input)))
		}
	}
	return m
}

// runTools answers a response's calls in order and returns their tool
// messages. Only the caller's cancellation stops it; a tool's failure is
// the model's to read.
func (a *Agent) runTools(ctx context.Context, g *guard, calls []llm.ToolCall, iteration int) ([]llm.Message, error) {
	out := make([]llm.Message, 0, len(calls))
	for i := range calls {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("before tool call %s (%s): %w", calls[i].Name, calls[i].ID, context.Cause(ctx))
		}
		call := calls[i]
		a.emit(Event{Kind: EventToolStart, Iteration: iteration, Call: &call})
		result := a.answer(ctx, g, call)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("tool call %s (%s): %w", call.Name, call.ID, context.Cause(ctx))
		}
		a.emit(Event{Kind: EventToolEnd, Iteration: iteration, Call: &call, Result: &result})
		out = append(out, llm.ToolResultMessage(result))
	}
	return out, nil
}

// answer returns the result of one call: the tool's output, or the error
// that tells the model why it has none.
func (a *Agent) answer(ctx context.Context, g *guard, call llm.ToolCall) llm.ToolResult {
	result := llm.ToolResult{ToolUseID: call.ID, Name: call.Name}
	fail := func(msg string) llm.ToolResult {
		result.Content, result.IsError = msg, true
		return result
	}
	tool, ok := a.tools[call.Name]
	if !ok {
		if a.toolNames == "" {
			return fail("unknown tool: " + call.Name + "; no tools are available")
		}
		return fail("unknown tool: " + call.Name + "; the tools are: " + a.toolNames)
	}
	input := call.Input
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	if err := json.Unmarshal(input, new(json.RawMessage)); err != nil {
		return fail(fmt.Sprintf("invalid input for tool %s: not JSON: %v", call.Name, err))
	}
	if n := g.repeated(callSignature(call.Name, input)); n > RepeatedCallsAllowed {
		return fail(fmt.Sprintf("ping-pong detected: tool '%s' called %d times with the same input in this turn; this call was not run. Use the earlier result or try something else.", call.Name, n))
	}
	start := time.Now()
	out, err := a.runTool(ctx, tool, call.Name, input)
	a.log.Debug("tool ran", "tool", call.Name, "id", call.ID, "duration", time.Since(start), "err", err)
	if err != nil {
		return fail(err.Error())
	}
	result.Content = out
	return result
}

// runTool runs a tool within ToolTimeout. A tool that panics fails its
// call instead of the program: a bug in one tool should not end the
// user's session.
func (a *Agent) runTool(ctx context.Context, tool Tool, name string, input json.RawMessage) (out string, err error) {
	toolCtx := ctx
	if a.toolTimeout > 0 {
		var cancel context.CancelFunc
		toolCtx, cancel = context.WithTimeout(ctx, a.toolTimeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("tool panicked", "tool", name, "panic", p, "stack", string(debug.Stack()))
			out, err = "", fmt.Errorf("tool '%s' failed: internal error: %v", name, p)
		}
	}()
	out, err = tool.Run(toolCtx, input)
	if err != nil && ctx.Err() == nil && errors.Is(toolCtx.Err(), context.DeadlineExceeded) {
		return "", fmt.Errorf("tool '%s' timed out after %s", name, a.toolTimeout)
	}
	return out, err
}

func (a *Agent) emit(e Event) {
	if a.onEvent != nil {
		a.onEvent(e)
	}
}
