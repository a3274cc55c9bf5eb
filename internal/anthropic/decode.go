package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tetherllm/tether/internal/jsontype"
)

// FieldError is a request or answer field that cannot be read: its JSON
// path ("messages[2].content[0].text") and what is wrong with it.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// object is a JSON object being decoded field by field: each typed field
// is taken out of it, and what is left is the fields the type does not
// model.
type object map[string]json.RawMessage

func readObject(data []byte) (object, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, &FieldError{Reason: "must be a JSON object, not " + jsontype.Of(data)}
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, &FieldError{Reason: "is not a valid JSON object"}
	}
	return o, nil
}

// take decodes the field key, if present and not null, into dst and
// removes it.
func (o object) take(key string, dst any) error {
	raw, ok := o[key]
	if !ok {
		return nil
	}
	delete(o, key)
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return inField(key, err, raw, dst)
	}
	return nil
}

// rest is what is left: the fields no typed field took, or nil.
func (o object) rest() map[string]json.RawMessage {
	if len(o) == 0 {
		return nil
	}
	return map[string]json.RawMessage(o)
}

// inField puts err under the path element key ("messages", "[3]").
func inField(key string, err error, raw json.RawMessage, dst any) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: joinPath(key, fe.Field), Reason: fe.Reason}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := key
		if te.Field != "" {
			field = joinPath(key, te.Field)
		}
		return &FieldError{Field: field, Reason: fmt.Sprintf("must be %s, not %s", jsontype.OfKind(te.Type.Kind()), te.Value)}
	}
	return &FieldError{Field: key, Reason: fmt.Sprintf("must be %s", want(dst))}
}

func joinPath(a, b string) string {
	switch {
	case b == "":
		return a
	case strings.HasPrefix(b, "["):
		return a + b
	}
	return a + "." + b
}

// want names what a Go destination holds, for error messages.
func want(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case *bool:
		return "a boolean"
	case *int, **int:
		return "an integer"
	case *float64, **float64:
		return "a number"
	case *[]string:
		return "an array of strings"
	}
	return "a valid value"
}

// decodeArray decodes a JSON array element by element, so that an
// element's error names its index.
func decodeArray[T any](raw []byte, elem func(*T, []byte) error) ([]T, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, &FieldError{Reason: "must be an array, not " + jsontype.Of(raw)}
	}
	out := make([]T, len(items))
	for i, it := range items {
		if err := elem(&out[i], it); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				fe = &FieldError{Reason: err.Error()}
			}
			return nil, &FieldError{Field: joinPath(fmt.Sprintf("[%d]", i), fe.Field), Reason: fe.Reason}
		}
	}
	return out, nil
}

// ExtraFields lists the names of fields a type did not model, sorted, for
// a server to refuse them by name.
func ExtraFields(extra map[string]json.RawMessage) []string {
	names := make([]string, 0, len(extra))
	for k := range extra {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
