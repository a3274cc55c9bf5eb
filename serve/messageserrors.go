package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
)

// msgError is an error answer of the Messages API endpoints, in
// Anthropic's shape: {"type": "error", "error": {"type", "message"}}.
type msgError struct {
	status     int
	typ        string
	message    string
	retryAfter int // seconds, sent as Retry-After
}

func (e *msgError) body() anthropic.ErrorBody {
	return anthropic.ErrorBody{Type: "error", Error: anthropic.ErrorObject{Type: e.typ, Message: e.message}}
}

func msgInvalid(format string, args ...any) *msgError {
	return &msgError{status: http.StatusBadRequest, typ: anthropic.ErrInvalidRequest, message: fmt.Sprintf(format, args...)}
}

// msgUnsupported refuses a field tether serve does not support.
func msgUnsupported(field, why string) *msgError {
	msg := field + ": not supported by tether serve"
	if why != "" {
		msg += " (" + why + ")"
	}
	return &msgError{status: http.StatusBadRequest, typ: anthropic.ErrInvalidRequest, message: msg}
}

var (
	msgUnauthorized = &msgError{status: http.StatusUnauthorized, typ: anthropic.ErrAuthentication,
		message: "invalid x-api-key: send the server's key as x-api-key or Authorization: Bearer"}
	msgLoading      = &msgError{status: http.StatusServiceUnavailable, typ: anthropic.ErrOverloaded, message: "Loading model", retryAfter: 1}
	msgShuttingDown = &msgError{status: http.StatusServiceUnavailable, typ: anthropic.ErrOverloaded, message: "the server is shutting down"}
	msgOverloaded   = &msgError{status: 529, typ: anthropic.ErrOverloaded, message: "Overloaded: the server's queue is full; retry later", retryAfter: 1}
	// msgCancelled is no answer: the client went away.
	msgMemoryFull = &msgError{status: 529, typ: anthropic.ErrOverloaded, message: "Overloaded: " + errMemoryBusy.Error(), retryAfter: 1}
	msgCancelled  = &msgError{status: 499, typ: "cancelled", message: "the request was cancelled"}
)

// msgErrorFor turns a failure of the driver or the engine into the
// answer a client sees. A prompt longer than the context is worded as
// Anthropic words it, so that clients that recognise it do.
func msgErrorFor(err error) *msgError {
	var (
		ov  *llm.ContextOverflowError
		req *llm.RequestError
		mf  *llm.ModelFileError
	)
	switch {
	case errors.As(err, &ov):
		msg := "prompt is too long"
		if ov.Required > 0 && ov.Available > 0 {
			msg = fmt.Sprintf("prompt is too long: %d tokens > %d maximum", ov.Required, ov.Available)
		}
		return msgInvalid("%s", msg)
	case errors.As(err, &req):
		return msgInvalid("%s", req.Reason)
	case errors.Is(err, engine.ErrClosed), errors.Is(err, llm.ErrClosed):
		return msgShuttingDown
	case errors.As(err, &mf):
		return &msgError{status: http.StatusInternalServerError, typ: anthropic.ErrAPI, message: mf.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return msgCancelled
	}
	return &msgError{status: http.StatusInternalServerError, typ: anthropic.ErrAPI, message: err.Error()}
}

// writeMsgError sends e as the answer.
func writeMsgError(w http.ResponseWriter, e *msgError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeMsgJSON(w, e.status, e.body())
}

func writeMsgJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"type":"error","error":{"type":"api_error","message":"cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
