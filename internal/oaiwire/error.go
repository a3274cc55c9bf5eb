package oaiwire

import (
	"bytes"
	"encoding/json"
)

// ErrorBody is an error answer, and an error event in a stream:
// {"error": {…}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is OpenAI's error object, with llama.cpp's context counts for an
// overflow.
type Error struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    Code    `json:"code"`
	// NPromptTokens and NCtx are llama.cpp's, on exceed_context_size_error.
	NPromptTokens int `json:"n_prompt_tokens,omitempty"`
	NCtx          int `json:"n_ctx,omitempty"`
}

// Code is an error's code. tether serve sends a string; it decodes from
// a number too (llama.cpp sends the HTTP status there), as the number's
// text, and from null or anything else as "".
type Code string

func (c *Code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*c = ""
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Code(s)
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		var n json.Number
		if json.Unmarshal(b, &n) == nil {
			*c = Code(n.String())
		}
	}
	return nil
}
