package openai

import (
	"bytes"
	"encoding/json"
)

// chatResponse is a chat completion or one streamed chunk of one.
type chatResponse struct {
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	Timings *wireTimings `json:"timings"`
	// Error is an error object sent in place of a chunk.
	Error json.RawMessage `json:"error"`
	// Object and Message are an older vLLM's top-level error form.
	Object  string `json:"object"`
	Message string `json:"message"`
}

type wireChoice struct {
	Index        int         `json:"index"`
	Message      wireContent `json:"message"` // a complete answer
	Delta        wireContent `json:"delta"`   // a streamed chunk
	FinishReason *string     `json:"finish_reason"`
	// StopReason is vLLM's: the stop string or token that ended the
	// answer.
	StopReason json.RawMessage `json:"stop_reason"`
}

type wireContent struct {
	Content          flexText        `json:"content"`
	ReasoningContent flexText        `json:"reasoning_content"`
	Reasoning        flexText        `json:"reasoning"`
	ToolCalls        []wireCallDelta `json:"tool_calls"`
}

// reasoning returns the message's separate reasoning. Servers that send
// both fields send the same text in each, so only one is taken.
func (w *wireContent) reasoning() string {
	if w.ReasoningContent != "" {
		return string(w.ReasoningContent)
	}
	return string(w.Reasoning)
}

// wireCallDelta is a tool call, or a streamed fragment of one.
type wireCallDelta struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
		// Arguments is a JSON string (OpenAI) or an object (some
		// servers).
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// wireTimings is llama.cpp's timings object.
type wireTimings struct {
	CacheN      int     `json:"cache_n"`
	PromptN     int     `json:"prompt_n"`
	PromptMS    float64 `json:"prompt_ms"`
	PredictedN  int     `json:"predicted_n"`
	PredictedMS float64 `json:"predicted_ms"`
}

// flexText reads a text field that servers send as a string, null, or an
// array of content parts ({"type":"text","text":…}). Other shapes read as
// empty rather than failing the whole answer.
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
	case b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(b, &parts) == nil {
			var s []byte
			for _, p := range parts {
				if p.Type == "" || p.Type == "text" {
					s = append(s, p.Text...)
				}
			}
			*f = flexText(s)
		}
	}
	return nil
}

// errorObject returns the error a response carries in place of an answer,
// if any.
func (r *chatResponse) errorObject() (errorInfo, bool) {
	if len(r.Error) > 0 && string(r.Error) != "null" {
		var obj wireError
		if json.Unmarshal(r.Error, &obj) == nil {
			return obj.info(), true
		}
		var s string
		if json.Unmarshal(r.Error, &s) == nil {
			return errorInfo{Message: s}, true
		}
		return errorInfo{Message: string(r.Error)}, true
	}
	if r.Object == "error" {
		return errorInfo{Message: r.Message}, true
	}
	return errorInfo{}, false
}
