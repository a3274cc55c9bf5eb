package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/internal/oaiwire"
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
	// Code is the error's string code ("invalid_api_key"), OpenAI's
	// where OpenAI has one. It is always a string on the wire, never the
	// HTTP status as a number as llama.cpp sends it: clients that type it
	// as a string (go-openai, the SDKs) then read every error alike.
	Code          string
	NPromptTokens int
	NCtx          int
	// RetryAfter, in seconds, is sent as a Retry-After header.
	RetryAfter int
}

func (e *apiError) Error() string { return e.Message }

// body is the JSON error answer.
func (e *apiError) body() oaiwire.ErrorBody {
	obj := oaiwire.Error{Message: e.Message, Type: e.Type, Code: oaiwire.Code(e.code())}
	if e.Param != "" {
		obj.Param = &e.Param
	}
	if e.NCtx > 0 {
		obj.NPromptTokens, obj.NCtx = e.NPromptTokens, e.NCtx
	}
	return oaiwire.ErrorBody{Error: obj}
}

// code is e's string code: its own, or one that names its status.
func (e *apiError) code() string {
	if e.Code != "" {
		return e.Code
	}
	switch e.Status {
	case http.StatusBadRequest:
		if e.Param != "" {
			return "invalid_value"
		}
		return "invalid_request"
	case http.StatusInternalServerError:
		return "internal_error"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	}
	if name := statusName(e.Status); name != "" {
		return name
	}
	if e.Status >= 500 {
		return "server_error"
	}
	return "invalid_request"
}

// statusName is an HTTP status's text as a code: "not_found".
func statusName(status int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(http.StatusText(status)) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// badRequest is a 400 about param ("" for the request as a whole); its
// code is invalid_value when it names a field, else invalid_request.
func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

// badJSON is a 400 for a body that is not the JSON object it must be.
func badJSON(format string, args ...any) *apiError {
	e := badRequest("", format, args...)
	e.Code = "invalid_json"
	return e
}

func unsupported(param, what string) *apiError {
	e := badRequest(param, "%s is not supported by tether serve", what)
	e.Code = "unsupported_parameter"
	return e
}

var (
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Type: "authentication_error", Code: "invalid_api_key",
		Message: "Invalid API Key: send it as Authorization: Bearer <key>"}
	errLoading      = &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Code: "model_loading", Message: "Loading model"}
	errMemoryFull   = &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Code: "server_busy", RetryAfter: retryAfter, Message: errMemoryBusy.Error()}
	errShuttingDown = &apiError{Status: http.StatusServiceUnavailable, Type: "unavailable_error", Code: "server_shutting_down", Message: "the server is shutting down"}
	errInternal     = &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: "internal_error", Message: "internal error"}
)

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
		Message: fmt.Sprintf("the request body is larger than the server's limit of %d bytes", limit)}
}

func overloaded(retryAfter int) *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded", RetryAfter: retryAfter,
		Message: "the server's queue is full; retry later"}
}

// loadFailed answers every request that needs the model once it has
// failed to load.
func loadFailed(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: "model_load_failed", Message: "the model failed to load: " + err.Error()}
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
			// Tokenizing stops past the window, so Required may be a
			// lower bound.
			msg = fmt.Sprintf("the request exceeds the available context size: at least %d tokens needed, %d available", ov.Required, ov.Available)
		}
		return &apiError{Status: http.StatusBadRequest, Type: "exceed_context_size_error", Code: "context_length_exceeded",
			Message: msg, NPromptTokens: ov.Required, NCtx: ov.Available}
	case errors.As(err, &req):
		return badRequest("", "%s", req.Reason)
	case errors.Is(err, engine.ErrClosed), errors.Is(err, llm.ErrClosed):
		return errShuttingDown
	case errors.As(err, &mf):
		return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: llm.ModelFileErrorCode, Message: mf.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: 499, Type: "cancelled", Code: "cancelled", Message: "the request was cancelled"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: "internal_error", Message: err.Error()}
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
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"cannot encode the answer","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
