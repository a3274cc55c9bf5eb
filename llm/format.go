package llm

import (
	"encoding/json"
	"fmt"
)

// FormatType is the shape a [ResponseFormat] asks for.
type FormatType string

const (
	// FormatText is free text: no constraint.
	FormatText FormatType = "text"
	// FormatJSONObject is any JSON object (OpenAI's JSON mode).
	FormatJSONObject FormatType = "json_object"
	// FormatJSONSchema is JSON that validates against Schema.
	FormatJSONSchema FormatType = "json_schema"
)

// ResponseFormat constrains the answer's text, as OpenAI's
// response_format does. Drivers that control sampling (the embedded
// engine) make any other text impossible; servers receive it as
// response_format.
type ResponseFormat struct {
	Type FormatType `json:"type"`
	// Name names the schema (OpenAI requires one; "response" if empty).
	Name string `json:"name,omitempty"`
	// Schema is the JSON Schema for FormatJSONSchema.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Strict is OpenAI's strict mode: every property required and no
	// others allowed unless the schema says otherwise explicitly.
	Strict bool `json:"strict,omitempty"`
}

// Validate checks that the format is complete.
func (f *ResponseFormat) Validate() error {
	switch f.Type {
	case FormatText, FormatJSONObject:
		if len(f.Schema) > 0 {
			return fmt.Errorf("response format %s takes no schema", f.Type)
		}
	case FormatJSONSchema:
		if len(f.Schema) == 0 {
			return fmt.Errorf("response format json_schema needs a schema")
		}
		if !json.Valid(f.Schema) {
			return fmt.Errorf("response format schema is not valid JSON")
		}
	default:
		return fmt.Errorf("response format type %q is not text, json_object or json_schema", f.Type)
	}
	return nil
}
