package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tetherllm/tether/internal/jsontype"
)

// decodeBody reads a request's JSON body into v. A body over the size
// limit is a 413; an empty one, bad JSON or a field of the wrong type a
// 400 that names the field.
func decodeBody(r *http.Request, limit int64, v any) *apiError {
	data, e := readBody(r, limit)
	if e != nil {
		return e
	}
	return decodeJSON(data, v)
}

// decodeFields is decodeBody, and a field that fields does not accept
// is a 400 that names it too (see checkFields).
func decodeFields(r *http.Request, limit int64, v any, fields []requestField) *apiError {
	data, e := readBody(r, limit)
	if e != nil {
		return e
	}
	return decodeRequest(data, v, fields)
}

func readBody(r *http.Request, limit int64) ([]byte, *apiError) {
	data, err := readAll(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge(limit)
		}
		if errors.Is(err, errMemoryBusy) {
			return nil, errMemoryFull
		}
		return nil, badRequest("", "cannot read the request body: %v", err)
	}
	return data, nil
}

// decodeJSON is decodeBody's parsing, apart for fuzzing.
func decodeJSON(data []byte, v any) *apiError {
	if len(bytes.TrimSpace(data)) == 0 {
		return badJSON("the request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(data, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var fieldErr *fieldError
		switch {
		case errors.As(err, &fieldErr):
			return badRequest(fieldErr.field, "%s", fieldErr.msg)
		case errors.As(err, &typeErr) && typeErr.Field != "":
			field := strings.TrimPrefix(typeErr.Field, "samplingFields.") // an embedded struct's name is no JSON field
			return badRequest(field, "%s must be %s, not %s", field, jsontype.OfKind(typeErr.Type.Kind()), typeErr.Value)
		case errors.As(err, &typeErr):
			return badJSON("the request body must be a JSON object, not %s", typeErr.Value)
		case errors.As(err, &syntaxErr):
			return badJSON("the request body is not valid JSON: %v (at byte %d)", err, syntaxErr.Offset)
		}
		return badJSON("the request body is not valid JSON: %v", err)
	}
	return nil
}

// stopList is OpenAI's stop: a string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"stop", "stop must be a string or an array of strings"}
	}
	*s = many
	return nil
}

// maxStops bounds the stop strings of one request.
const maxStops = 16

func (s stopList) check() *apiError {
	if len(s) > maxStops {
		return badRequest("stop", "at most %d stop strings are allowed, not %d", maxStops, len(s))
	}
	return nil
}

// fieldError is a field's own decoder refusing its value.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }
