// Package protocol is the JSON the oracle tests and the goeval program
// exchange: which synthetic files to write, and which prompts to run
// through the engine along llama.cpp's paths.
package protocol

// File is one synthetic model for goeval's write mode.
type File struct {
	Path     string `json:"path"`
	Arch     string `json:"arch"`
	Type     string `json:"type"`
	Tie      bool   `json:"tie"`
	Template string `json:"template"`
	Seed     uint64 `json:"seed"`
	ToolCall bool   `json:"tool_call"`
}

// Job is one model for goeval's eval mode.
type Job struct {
	Path     string   `json:"path"`
	Tokenize []string `json:"tokenize"`
	Prompts  []Prompt `json:"prompts"`
}

// Prompt is one prompt of a Job: its text (or tokens), the tokens to
// force (llama.cpp's greedy path), the token ids to report log-probs of
// at each step, and how many greedy tokens to generate.
type Prompt struct {
	Text   string    `json:"text"`
	Tokens []int32   `json:"tokens"`
	Force  []int32   `json:"force"`
	Report [][]int32 `json:"report"`
	Greedy int       `json:"greedy"`
}

// Result is goeval's answer for one Job.
type Result struct {
	Error    string         `json:"error,omitempty"`
	EOG      []int32        `json:"eog"`
	Tokenize [][]int32      `json:"tokenize"`
	Prompts  []PromptResult `json:"prompts"`
}

// PromptResult is the engine's answer for one Prompt.
type PromptResult struct {
	Tokens []int32 `json:"tokens"`
	Steps  []Step  `json:"steps"`
	Greedy []int32 `json:"greedy"`
}

// Step is one forced step: the engine's argmax and the log-probs of the
// reported tokens.
type Step struct {
	Argmax   int32     `json:"argmax"`
	Logprobs []float64 `json:"logprobs"`
}
