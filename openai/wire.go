package openai

// The answer's wire types are package oaiwire's, shared with tether
// serve, which encodes them.

import (
	"encoding/json"

	"github.com/tetherllm/tether/internal/oaiwire"
)

// errorObject returns the error an answer or chunk carries in place of
// itself, if any.
func errorObject(r *oaiwire.ChatCompletion) (errorInfo, bool) {
	if len(r.Error) > 0 && string(r.Error) != "null" {
		var obj oaiwire.Error
		if json.Unmarshal(r.Error, &obj) == nil {
			return infoOf(&obj), true
		}
		var s string
		if json.Unmarshal(r.Error, &s) == nil {
			return errorInfo{Message: s}, true
		}
		return errorInfo{Message: string(r.Error)}, true
	}
	if r.Object == "error" {
		return errorInfo{Message: r.Message}, true
	}
	return errorInfo{}, false
}
