package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/llm"
)

// apiError is an error answer in OpenAI's shape:
//
//	{"error":{"message":…,"type":…,"param":…,"code":…}}
//
// with llama.cpp's n_prompt_tokens and n_ctx for a context overflow.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string
	// Code is OpenAI's string code ("invalid_api_key"); empty sends the
	// HTTP status as a number, as llama.cpp does.
	Code          string
	NPromptTokens int
	NCtx          int
	// RetryAfter, in seconds, is sent as a Retry-After header.
	RetryAfter int
}

func (e *apiError) Error() string { return e.Message }

// body is the JSON error object.
func (e *apiError) body() map[string]any {
	obj := map[string]any{"message": e.Message, "type": e.Type, "param": nil, "code": e.Status}
	if e.Param != "" {
		obj["param"] = e.Param
	}
	if e.Code != "" {
		obj["code"] = e.Code
	}
	if e.NCtx > 0 {
		obj["n_prompt_tokens"], obj["n_ctx"] = e.NPromptTokens, e.NCtx
	}
	return map[string]any{"error": obj}
}

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

func unsupported(param, what string) *apiError {
	e := badRequest(param, "%s is not supported by tether serve", what)
	e.Code = "unsupported_parameter"
	return e
}

var (
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Type: "authentication_error", Code: "invalid_api_key",
		Message: "Invalid API Key: send it as Authorization: Bearer <key>"}
	errLoading      = &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Message: "Loading model"}
	errShuttingDown = &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Message: "the server is shutting down"}
)

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
		Message: fmt.Sprintf("the request body is larger than the server's limit of %d bytes", limit)}
}

func overloaded(retryAfter int) *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded", RetryAfter: retryAfter,
		Message: "the server's queue is full; retry later"}
}

func notFound(path string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found", Message: "no such endpoint: " + path}
}

func unknownModel(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model `%s` does not exist", name)}
}

// errorFor turns a failure of the engine or the driver into the answer
// a client sees.
func errorFor(err error) *apiError {
	var (
		ae  *apiError
		req *llm.RequestError
		ov  *llm.ContextOverflowError
		mf  *llm.ModelFileError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ov):
		msg := "the request exceeds the available context size"
		if ov.Required > 0 && ov.Available > 0 {
			msg = fmt.Sprintf("the request exceeds the available context size: %d tokens needed, %d available", ov.Required, ov.Available)
		}
		return &apiError{Status: http.StatusBadRequest, Type: "exceed_context_size_error", Code: "context_length_exceeded",
			Message: msg, NPromptTokens: ov.Required, NCtx: ov.Available}
	case errors.As(err, &req):
		return badRequest("", "%s", req.Reason)
	case errors.Is(err, engine.ErrClosed), errors.Is(err, llm.ErrClosed):
		return errShuttingDown
	case errors.As(err, &mf):
		return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: mf.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: 499, Type: "cancelled", Message: "the request was cancelled"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

// writeError sends e as the answer.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"cannot encode the answer","type":"server_error","param":null,"code":500}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
