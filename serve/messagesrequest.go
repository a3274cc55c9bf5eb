package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
)

// maxStopSequences bounds a request's stop_sequences.
const maxStopSequences = 16

// countFields are the fields a count_tokens request may have: those
// that shape the prompt.
var countFields = map[string]bool{"model": true, "messages": true, "system": true, "tools": true, "tool_choice": true, "thinking": true}

// readMessagesRequest reads and decodes a Messages API body. A body over
// the size limit is a 413; bad JSON, a field of the wrong type or a field
// tether does not model a 400 that names the field.
func readMessagesRequest(r *http.Request, limit int64) (*anthropic.Request, *msgError) {
	data, err := readAll(r)
	if errors.Is(err, errMemoryBusy) {
		return nil, msgMemoryFull
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &msgError{status: http.StatusRequestEntityTooLarge, typ: anthropic.ErrRequestTooLong,
				message: fmt.Sprintf("the request body is larger than the server's limit of %d bytes", limit)}
		}
		return nil, msgInvalid("cannot read the request body: %v", err)
	}
	return decodeMessagesRequest(data)
}

// decodeMessagesRequest is readMessagesRequest's parsing, apart for
// fuzzing.
func decodeMessagesRequest(data []byte) (*anthropic.Request, *msgError) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, msgInvalid("the request body is empty; send a JSON object")
	}
	if !json.Valid(data) {
		return nil, msgInvalid("the request body is not valid JSON")
	}
	var req anthropic.Request
	if err := json.Unmarshal(data, &req); err != nil {
		var fe *anthropic.FieldError
		if errors.As(err, &fe) {
			if fe.Field == "" {
				return nil, msgInvalid("the request body %s", fe.Reason)
			}
			return nil, msgInvalid("%s", fe.Error())
		}
		return nil, msgInvalid("the request body cannot be read: %v", err)
	}
	if err := req.CheckExtra(); err != nil {
		var fe *anthropic.FieldError
		errors.As(err, &fe)
		return nil, msgUnsupported(fe.Field, "")
	}
	return &req, nil
}

// messagesCall turns a request into the driver's call. count says it is
// a count_tokens request, which has only the fields that shape the
// prompt. single reports disable_parallel_tool_use: answer with one tool
// call at most.
func messagesCall(req *anthropic.Request, count bool) (c embedded.Call, single bool, e *msgError) {
	if count {
		for _, f := range slices.Sorted(maps.Keys(req.Present)) {
			if !countFields[f] {
				return c, false, msgInvalid("%s: not allowed in a count_tokens request", f)
			}
		}
	} else {
		switch {
		case !req.Present["max_tokens"]:
			return c, false, msgInvalid("max_tokens: Field required")
		case req.MaxTokens < 1:
			return c, false, msgInvalid("max_tokens: must be at least 1")
		}
		c.MaxTokens = req.MaxTokens
	}
	if len(req.Messages) == 0 {
		return c, false, msgInvalid("messages: at least one message is required")
	}
	if last := len(req.Messages) - 1; req.Messages[last].Role == "assistant" {
		return c, false, msgUnsupported(fmt.Sprintf("messages[%d]", last),
			"a final assistant message, which Anthropic continues (prefill); end with a user message")
	}
	var err error
	if c.System, c.Messages, err = req.Conversation(); err != nil {
		return c, false, msgInvalid("%s", err.Error())
	}
	if c.Tools, err = req.LLMTools(); err != nil {
		return c, false, msgInvalid("%s", err.Error())
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case anthropic.ChoiceAuto:
			c.ToolChoice = llm.ToolChoice{Mode: llm.ToolAuto}
		case anthropic.ChoiceAny:
			c.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired}
		case anthropic.ChoiceNone:
			c.ToolChoice = llm.ToolChoice{Mode: llm.ToolNone}
		case anthropic.ChoiceTool:
			if tc.Name == "" {
				return c, false, msgInvalid("tool_choice.name: Field required for tool_choice of type \"tool\"")
			}
			c.ToolChoice = llm.ToolChoiceNamed(tc.Name)
		default:
			return c, false, msgInvalid("tool_choice.type: %s is not one of \"auto\", \"any\", \"tool\", \"none\"", quoteString(tc.Type))
		}
		if tc.Name != "" && tc.Type != anthropic.ChoiceTool {
			return c, false, msgInvalid("tool_choice.name: only a tool_choice of type \"tool\" names a tool")
		}
		single = tc.DisableParallelToolUse
	}
	// Anthropic's models think only when asked; so do tether's, where the
	// chat template reads enable_thinking.
	thinking := false
	if th := req.Thinking; th != nil {
		switch th.Type {
		case "enabled":
			if th.BudgetTokens < 1 {
				return c, false, msgInvalid("thinking.budget_tokens: Field required (at least 1) when thinking is enabled")
			}
			if !count && th.BudgetTokens >= req.MaxTokens {
				return c, false, msgInvalid("thinking.budget_tokens: must be less than max_tokens")
			}
			thinking = true
		case "disabled":
		default:
			return c, false, msgInvalid("thinking.type: %s is not \"enabled\" or \"disabled\"", quoteString(th.Type))
		}
	}
	c.EnableThinking = &thinking
	if !count {
		if len(req.StopSequences) > maxStopSequences {
			return c, false, msgInvalid("stop_sequences: at most %d are allowed, not %d", maxStopSequences, len(req.StopSequences))
		}
		for i, s := range req.StopSequences {
			if s == "" {
				return c, false, msgInvalid("stop_sequences[%d]: must not be empty", i)
			}
		}
		c.Stop = req.StopSequences
		c.Temperature, c.TopP, c.TopK = req.Temperature, req.TopP, req.TopK
	}
	if err := c.Validate(); err != nil {
		return c, false, msgErrorFor(err)
	}
	return c, single, nil
}

func quoteString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
