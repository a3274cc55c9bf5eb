package oaiwire

import "encoding/json"

// ChatCompletion is a chat completion ("chat.completion") or one
// streamed chunk of one ("chat.completion.chunk").
type ChatCompletion struct {
	ID                string   `json:"id,omitempty"`
	Object            string   `json:"object,omitempty"`
	Created           int64    `json:"created,omitempty"`
	Model             string   `json:"model,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	// Timings is llama.cpp's, on a whole answer and on a stream's last
	// chunk.
	Timings *Timings `json:"timings,omitempty"`
	// Error is an error object a server sends in place of an answer or a
	// chunk; tether serve sends it as an Error alone (see ErrorBody).
	Error json.RawMessage `json:"error,omitempty"`
	// Message is an older vLLM's top-level error message, beside Object
	// "error".
	Message string `json:"message,omitempty"`
}

// Choice is one choice of an answer: a whole Message, or a chunk's
// Delta.
type Choice struct {
	Index   int      `json:"index"`
	Message *Message `json:"message,omitempty"`
	Delta   *Delta   `json:"delta,omitempty"`
	// Logprobs is the choice's log-probabilities when they were asked
	// for, else null.
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
	// StopReason is vLLM's: the stop string or token that ended the
	// answer. tether serve does not send it.
	StopReason json.RawMessage `json:"stop_reason,omitempty"`
}

// Message is a whole answer's message. Its content is null, not absent,
// when the answer is only tool calls, as OpenAI's is.
type Message struct {
	Role             string     `json:"role"`
	Content          *Text      `json:"content"`
	ReasoningContent Text       `json:"reasoning_content,omitempty"`
	Reasoning        Text       `json:"reasoning,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// Delta is what one chunk adds to a streamed message.
type Delta struct {
	Role             string     `json:"role,omitempty"`
	Content          *Text      `json:"content,omitempty"`
	ReasoningContent Text       `json:"reasoning_content,omitempty"`
	Reasoning        Text       `json:"reasoning,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// Delta is m as the one delta that adds all of it, so that a reader can
// treat whole answers and chunks alike.
func (m *Message) Delta() *Delta {
	return &Delta{Role: m.Role, Content: m.Content, ReasoningContent: m.ReasoningContent, Reasoning: m.Reasoning, ToolCalls: m.ToolCalls}
}

// Thinking is the delta's separate reasoning: reasoning_content
// (llama.cpp, DeepSeek) or reasoning (vLLM, OpenRouter). Servers that
// send both send the same text in each, so only one is taken.
func (d *Delta) Thinking() string {
	if d.ReasoningContent != "" {
		return string(d.ReasoningContent)
	}
	return string(d.Reasoning)
}

// ToolCall is a tool call of a message, or a streamed fragment of one:
// the fragments of one call share its Index.
type ToolCall struct {
	Index    *int     `json:"index,omitempty"`
	ID       string   `json:"id,omitempty"`
	Type     string   `json:"type,omitempty"`
	Function Function `json:"function"`
}

// Function is a tool call's function.
type Function struct {
	Name      string    `json:"name,omitempty"`
	Arguments Arguments `json:"arguments"`
}

// Usage is OpenAI's token counts.
type Usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// Timings is llama.cpp's timings object.
type Timings struct {
	CacheN              int     `json:"cache_n"`
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     float64 `json:"prompt_per_second"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  float64 `json:"predicted_per_second"`
}

// TextCompletion is a text completion ("text_completion"), whole or one
// streamed chunk.
type TextCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []TextChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
	Timings           *Timings     `json:"timings,omitempty"`
}

// TextChoice is one choice of a text completion.
type TextChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}
