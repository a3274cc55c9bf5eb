package anthropic

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
)

// parseError reads an error answer: Anthropic's {"type": "error",
// "error": {"type", "message"}}, OpenAI's {"error": {"message", "type"}}
// (proxies that translate), {"error": "…"}, or plain text.
func parseError(body []byte) ErrorObject {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil {
		var obj ErrorObject
		var s string
		switch {
		case len(v.Error) > 0 && v.Error[0] == '{' && json.Unmarshal(v.Error, &obj) == nil && obj.Message != "":
			return obj
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return ErrorObject{Message: s}
		case v.Message != "":
			return ErrorObject{Message: v.Message}
		}
	}
	return ErrorObject{Message: httpapi.Snippet(body)}
}

// statusError turns a non-success answer into the llm error type callers
// branch on: 429 is rate limiting and 503 or 529 overload (with the
// server's Retry-After), a prompt too long for the context is a context
// overflow, anything else an *llm.HTTPError with the server's message
// (401 and 403 included: a bad or missing key).
func statusError(status int, header http.Header, body []byte) error {
	info := parseError(body)
	if err := overflowError(status, info); err != nil {
		return err
	}
	return httpapi.StatusError(status, header, info.Message)
}

// statusOf is the HTTP status an error type comes with.
func statusOf(errType string) int {
	switch errType {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrAuthentication:
		return http.StatusUnauthorized
	case ErrPermission:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrRequestTooLong:
		return http.StatusRequestEntityTooLarge
	case ErrRateLimit:
		return http.StatusTooManyRequests
	case ErrOverloaded:
		return 529
	}
	return http.StatusInternalServerError
}

// streamError turns an error event of a stream into an error, classified
// by its type.
func streamError(obj ErrorObject) error {
	if obj.Message == "" {
		obj.Message = "error in the middle of the stream"
	}
	status := statusOf(obj.Type)
	if err := overflowError(status, obj); err != nil {
		return err
	}
	return httpapi.StatusError(status, nil, obj.Message)
}

var (
	// Anthropic: "prompt is too long: 208310 tokens > 200000 maximum".
	tooLongRe     = regexp.MustCompile(`(?i)prompt is too long(?::\s*(\d+) tokens > (\d+) maximum)?`)
	overflowWords = regexp.MustCompile(`(?i)context[ _](length|size|window)|exceeds the available context`)
)

// overflowError recognises a prompt that does not fit the context.
func overflowError(status int, info ErrorObject) error {
	if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
		return nil
	}
	m := tooLongRe.FindStringSubmatch(info.Message)
	if m == nil && !overflowWords.MatchString(info.Message) {
		return nil
	}
	e := &llm.ContextOverflowError{Message: info.Message}
	if m != nil && m[1] != "" {
		e.Required, _ = strconv.Atoi(m[1])
		e.Available, _ = strconv.Atoi(m[2])
	}
	return e
}
