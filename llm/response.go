package llm

import (
	"fmt"
	"slices"
	"strings"
)

// StopReason says why generation ended.
type StopReason string

// The stop reasons. The zero value is not a valid reason.
const (
	StopEndTurn      StopReason = "end_turn"
	StopToolUse      StopReason = "tool_use"
	StopMaxTokens    StopReason = "max_tokens"
	StopStopSequence StopReason = "stop_sequence"
	// StopContextWindow: the answer filled the model's context window.
	StopContextWindow StopReason = "model_context_window_exceeded"
)

// Usage counts the tokens of one request.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Total is InputTokens plus OutputTokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{InputTokens: u.InputTokens + o.InputTokens, OutputTokens: u.OutputTokens + o.OutputTokens}
}

// Timings says where the time of one request went, as the server measured
// it (llama.cpp's "timings") or, failing that, as the driver saw it.
// Zero fields were not reported.
type Timings struct {
	PromptTokens    int     `json:"prompt_tokens"`
	PromptMS        float64 `json:"prompt_ms"`
	GeneratedTokens int     `json:"generated_tokens"`
	GenerationMS    float64 `json:"generation_ms"`
}

// PromptTokensPerSecond is the prompt processing speed, or 0 if unknown.
func (t Timings) PromptTokensPerSecond() float64 {
	if t.PromptMS <= 0 {
		return 0
	}
	return float64(t.PromptTokens) / t.PromptMS * 1000
}

// GenerationTokensPerSecond is the decoding speed, or 0 if unknown.
func (t Timings) GenerationTokensPerSecond() float64 {
	if t.GenerationMS <= 0 {
		return 0
	}
	return float64(t.GeneratedTokens) / t.GenerationMS * 1000
}

// Response is the result of one completion.
type Response struct {
	// Text is the answer with reasoning and tool-call blocks removed.
	Text string `json:"text"`
	// Reasoning is the model's thinking, if it produced any.
	Reasoning  string     `json:"reasoning"`
	ToolCalls  []ToolCall `json:"tool_calls"`
	StopReason StopReason `json:"stop_reason"`
	Usage      Usage      `json:"usage"`
	Timings    Timings    `json:"timings"`
	// Logprobs holds every generated token's log-probability, when the
	// request asked for them.
	Logprobs []TokenLogprob `json:"logprobs,omitempty"`
	// Served is set by a router: the driver that answered, its context
	// window and the answer's estimated cost. Nil from a single driver.
	Served *Served `json:"served,omitempty"`
}

// Message is the assistant turn the response was: its text, reasoning
// and tool calls in one message, ready to append to the conversation.
func (r *Response) Message() Message {
	return Message{Role: RoleAssistant, Content: r.Text, Reasoning: r.Reasoning, ToolCalls: slices.Clone(r.ToolCalls)}
}

// String summarises the response for logs and test failures.
func (r *Response) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stop=%s text=%q", r.StopReason, r.Text)
	if r.Reasoning != "" {
		fmt.Fprintf(&b, " reasoning=%q", r.Reasoning)
	}
	for _, c := range r.ToolCalls {
		fmt.Fprintf(&b, " call[%s %s %s]", c.ID, c.Name, c.Input)
	}
	return b.String()
}
