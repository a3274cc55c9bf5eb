package oaiwire

import (
	"bytes"
	"encoding/json"
)

// Text is a text field. It encodes as a string and decodes from a
// string, null, or an array of content parts ({"type": "text", "text":
// …}); other shapes decode as empty rather than failing the whole
// answer.
type Text string

// Ptr returns a pointer to s as Text, for Content fields.
func Ptr(s string) *Text {
	t := Text(s)
	return &t
}

func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
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
			*t = Text(s)
		}
	}
	return nil
}

// Arguments are a tool call's arguments: the input as JSON text in a
// string, as OpenAI sends them, or, as some servers send them, the
// input object itself (Object).
type Arguments struct {
	Text   string
	Object json.RawMessage
}

// Args are arguments holding input's JSON text.
func Args(input json.RawMessage) Arguments { return Arguments{Text: string(input)} }

func (a Arguments) MarshalJSON() ([]byte, error) {
	if a.Object != nil {
		return a.Object, nil
	}
	return json.Marshal(a.Text)
}

func (a *Arguments) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*a = Arguments{}
	switch {
	case len(b) == 0 || string(b) == "null":
	case b[0] == '"':
		return json.Unmarshal(b, &a.Text)
	default:
		a.Object = append(json.RawMessage(nil), b...)
	}
	return nil
}
