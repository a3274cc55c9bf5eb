package llm

import (
	"fmt"
	"math"
	"slices"
)

// Request is one completion request. Zero values mean "not set": the
// backend's default applies. Sampling fields are pointers so that an
// explicit zero (temperature 0, greedy) differs from "unset"; [Ptr] makes
// them easy to fill.
type Request struct {
	// System is the system prompt. It travels apart from Messages.
	System   string    `json:"system,omitempty"`
	Messages []Message `json:"messages"`
	Tools    []ToolDef `json:"tools,omitempty"`

	// MaxTokens bounds the generated tokens; 0 means the driver's default.
	MaxTokens int `json:"max_tokens,omitempty"`

	Temperature   *float64 `json:"temperature,omitempty"`
	TopK          *int     `json:"top_k,omitempty"`
	TopP          *float64 `json:"top_p,omitempty"`
	MinP          *float64 `json:"min_p,omitempty"`
	RepeatPenalty *float64 `json:"repeat_penalty,omitempty"`
	RepeatLastN   *int     `json:"repeat_last_n,omitempty"`
	Seed          *int64   `json:"seed,omitempty"`

	// Stop lists strings that end generation when produced.
	Stop []string `json:"stop,omitempty"`

	// ToolChoice says whether the model may (the zero value), must or
	// must not call one of Tools.
	ToolChoice ToolChoice `json:"tool_choice,omitzero"`
	// ResponseFormat, when set, constrains the answer's text.
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
}

// Ptr returns a pointer to v, for the optional fields of [Request].
func Ptr[T any](v T) *T { return &v }

// Validate checks the request's messages and sampling values.
func (r Request) Validate() error {
	if len(r.Messages) == 0 {
		return &RequestError{Reason: "request has no messages"}
	}
	for i, m := range r.Messages {
		if err := m.Validate(); err != nil {
			return &RequestError{Reason: "messages[" + itoa(i) + "]: " + err.Error()}
		}
	}
	switch {
	case r.MaxTokens < 0:
		return &RequestError{Reason: "max_tokens must not be negative"}
	// The comparisons are written so that NaN fails them.
	case r.Temperature != nil && !(*r.Temperature >= 0 && *r.Temperature <= 100):
		return &RequestError{Reason: "temperature must be between 0 and 100"}
	case r.TopK != nil && *r.TopK < 0:
		return &RequestError{Reason: "top_k must not be negative"}
	case r.TopP != nil && !(*r.TopP >= 0 && *r.TopP <= 1):
		return &RequestError{Reason: "top_p must be between 0 and 1"}
	case r.MinP != nil && !(*r.MinP >= 0 && *r.MinP <= 1):
		return &RequestError{Reason: "min_p must be between 0 and 1"}
	case r.RepeatPenalty != nil && !(*r.RepeatPenalty > 0 && !math.IsInf(*r.RepeatPenalty, 1)):
		return &RequestError{Reason: "repeat_penalty must be a positive number"}
	case r.RepeatLastN != nil && *r.RepeatLastN < -1:
		return &RequestError{Reason: "repeat_last_n must be -1 (whole context) or more"}
	}
	if err := r.ToolChoice.validate(); err != nil {
		return &RequestError{Reason: err.Error()}
	}
	switch {
	case r.ToolChoice.Mode == ToolRequired && len(r.Tools) == 0:
		return &RequestError{Reason: `tool_choice "required" needs at least one tool`}
	case r.ToolChoice.Mode == ToolNamed && !slices.ContainsFunc(r.Tools, func(t ToolDef) bool { return t.Name == r.ToolChoice.Name }):
		return &RequestError{Reason: fmt.Sprintf("tool_choice names the tool %q, which is not among the request's tools", r.ToolChoice.Name)}
	}
	if r.ResponseFormat != nil {
		if err := r.ResponseFormat.Validate(); err != nil {
			return &RequestError{Reason: err.Error()}
		}
	}
	return nil
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
