package openai

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

// errorInfo is what a server says about a failure, from any of the error
// shapes servers use.
type errorInfo struct {
	Message string
	Type    string
	Code    string // a string code, or a number as text
	// llama.cpp's exceed_context_size_error carries the counts.
	PromptTokens  int
	ContextTokens int
}

// infoOf is what an error object says.
func infoOf(w *oaiwire.Error) errorInfo {
	return errorInfo{Message: w.Message, Type: w.Type, Code: string(w.Code), PromptTokens: w.NPromptTokens, ContextTokens: w.NCtx}
}

// parseErrorBody reads an error answer: {"error":{…}} (OpenAI, llama.cpp,
// ollama, newer vLLM), {"error":"…"}, a top-level {"object":"error",
// "message":…} (older vLLM), {"detail":…} (FastAPI), or plain text.
func parseErrorBody(body []byte) errorInfo {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    oaiwire.Code    `json:"code"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		var obj oaiwire.Error
		var s string
		switch {
		case len(v.Error) > 0 && v.Error[0] == '{' && json.Unmarshal(v.Error, &obj) == nil:
			return infoOf(&obj)
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return errorInfo{Message: s}
		case v.Message != "":
			return infoOf(&oaiwire.Error{Message: v.Message, Type: v.Type, Code: v.Code})
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			return errorInfo{Message: s}
		case len(v.Detail) > 0 && string(v.Detail) != "null":
			return errorInfo{Message: string(v.Detail)}
		}
	}
	return errorInfo{Message: httpapi.Snippet(body)}
}

// statusError turns a non-success answer into the llm error type callers
// branch on.
func statusError(status int, header http.Header, body []byte) error {
	info := parseErrorBody(body)
	if err := overflowError(status, info); err != nil {
		return err
	}
	return withCode(httpapi.StatusError(status, header, info.Message), info.Code)
}

// streamError turns an error object sent inside a stream (or a 200 that
// holds one) into an error. Its code classifies it: an HTTP status as
// llama.cpp sends it, or else the string codes and types of OpenAI and
// tether serve; anything else counts as a server failure (500).
func streamError(info errorInfo) error {
	status := statusOf(info)
	if info.Message == "" {
		info.Message = "error in the middle of the stream"
	}
	if e := overflowError(status, info); e != nil {
		return e
	}
	return withCode(httpapi.StatusError(status, nil, info.Message), info.Code)
}

// withCode keeps the error object's code on an *llm.HTTPError, so that
// callers can tell a model file error from other server failures.
func withCode(err error, code string) error {
	if he, ok := err.(*llm.HTTPError); ok {
		he.Code = code
	}
	return err
}

// statusOf is the HTTP status an error object stands for.
func statusOf(info errorInfo) int {
	if status, err := strconv.Atoi(info.Code); err == nil && status >= 400 && status <= 599 {
		return status
	}
	switch {
	case info.Code == "rate_limit_exceeded" || info.Type == "rate_limit_error":
		return http.StatusTooManyRequests
	case info.Code == "server_shutting_down" || info.Code == "model_loading" || info.Type == "unavailable_error" || info.Type == "overloaded_error":
		return http.StatusServiceUnavailable
	case info.Type == "authentication_error":
		return http.StatusUnauthorized
	case info.Type == "invalid_request_error":
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

var (
	overflowWords = regexp.MustCompile(`(?i)context[ _](length|size|window)|prompt is too long|exceeds the available context`)
	availableRe   = regexp.MustCompile(`(?i)maximum context length is (\d+)`)
	requiredRe    = regexp.MustCompile(`(?i)(?:requested|resulted in|request has) (\d+)(?: input)? tokens`)
)

// overflowError recognises a context overflow: llama.cpp's
// exceed_context_size_error (with n_prompt_tokens and n_ctx), OpenAI's
// context_length_exceeded code, and the wording of vLLM ("This model's
// maximum context length is N tokens. However, you requested M tokens")
// and others.
func overflowError(status int, info errorInfo) error {
	typed := info.Type == "exceed_context_size_error" || info.Code == "context_length_exceeded"
	worded := (status >= 400 && status < 500 && status != http.StatusTooManyRequests || status == http.StatusInternalServerError) &&
		overflowWords.MatchString(info.Message)
	if !typed && !worded {
		return nil
	}
	e := &llm.ContextOverflowError{Required: info.PromptTokens, Available: info.ContextTokens, Message: info.Message}
	if m := availableRe.FindStringSubmatch(info.Message); m != nil && e.Available == 0 {
		e.Available, _ = strconv.Atoi(m[1])
	}
	if m := requiredRe.FindStringSubmatch(info.Message); m != nil && e.Required == 0 {
		e.Required, _ = strconv.Atoi(m[1])
	}
	return e
}
