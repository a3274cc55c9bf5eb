package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tetherllm/tether/internal/jsontype"
	"github.com/tetherllm/tether/llm"
)

// CheckExtra returns a *FieldError naming the first field of the request,
// at any depth, that the wire types do not model (a top-level field such
// as "service_tier", a block's "citations", a tool's "strict"), or nil.
// Blocks of types this package does not model are not reported here;
// [Request.Conversation] refuses them.
func (r *Request) CheckExtra() error {
	if f := firstExtra(r.Extra); f != "" {
		return &FieldError{Field: f, Reason: "is not supported"}
	}
	for i, m := range r.Messages {
		path := fmt.Sprintf("messages[%d]", i)
		if f := firstExtra(m.Extra); f != "" {
			return &FieldError{Field: path + "." + f, Reason: "is not supported"}
		}
		if err := checkBlocks(m.Content, path+".content"); err != nil {
			return err
		}
	}
	if err := checkBlocks(r.System, "system"); err != nil {
		return err
	}
	for i, t := range r.Tools {
		if f := firstExtra(t.Extra); f != "" {
			return &FieldError{Field: fmt.Sprintf("tools[%d].%s", i, f), Reason: "is not supported"}
		}
	}
	if r.ToolChoice != nil {
		if f := firstExtra(r.ToolChoice.Extra); f != "" {
			return &FieldError{Field: "tool_choice." + f, Reason: "is not supported"}
		}
	}
	if r.Thinking != nil {
		if f := firstExtra(r.Thinking.Extra); f != "" {
			return &FieldError{Field: "thinking." + f, Reason: "is not supported"}
		}
	}
	return nil
}

func checkBlocks(c Content, path string) error {
	for j, b := range c {
		if !modelled(b.Type) {
			continue // Conversation names the type
		}
		bp := fmt.Sprintf("%s[%d]", path, j)
		if f := firstExtra(b.Extra); f != "" {
			return &FieldError{Field: bp + "." + f, Reason: "is not supported"}
		}
		if err := checkBlocks(b.Content, bp+".content"); err != nil {
			return err
		}
	}
	return nil
}

func modelled(blockType string) bool {
	switch blockType {
	case BlockText, BlockThinking, BlockRedactedThinking, BlockToolUse, BlockToolResult:
		return true
	}
	return false
}

func firstExtra(extra map[string]json.RawMessage) string {
	if names := ExtraFields(extra); len(names) > 0 {
		return names[0]
	}
	return ""
}

// unsupportedBlock refuses a block a text model cannot read.
func unsupportedBlock(path, blockType string) error {
	return &FieldError{Field: path + ".type", Reason: fmt.Sprintf("content blocks of type %q are not supported (the model reads text only)", blockType)}
}

// Conversation turns the request's system prompt and messages into
// tether's: text blocks of one message join with a blank line; an
// assistant message becomes its text (with its thinking as Reasoning)
// and one tool use per tool_use block; a tool_result block becomes a
// tool message named after the tool_use it answers. Errors are
// *FieldError with the path of the block at fault: an image or document
// block, a redacted_thinking block (only Anthropic can read it), a block
// in the wrong role, a tool_use without a name.
func (r *Request) Conversation() (system string, msgs []llm.Message, err error) {
	var sys []string
	for i, b := range r.System {
		if b.Type != BlockText {
			return "", nil, &FieldError{Field: fmt.Sprintf("system[%d].type", i), Reason: fmt.Sprintf("system blocks must be text, not %q", b.Type)}
		}
		sys = append(sys, b.Text)
	}
	names := map[string]string{} // tool_use id -> tool name
	for i, m := range r.Messages {
		path := fmt.Sprintf("messages[%d]", i)
		var out []llm.Message
		switch m.Role {
		case "user":
			out, err = userMessages(m.Content, path+".content", names)
		case "assistant":
			out, err = assistantMessages(m.Content, path+".content", names)
		case "":
			err = &FieldError{Field: path + ".role", Reason: "a message needs a role"}
		default:
			err = &FieldError{Field: path + ".role", Reason: fmt.Sprintf("the role %q is not \"user\" or \"assistant\" (the system prompt goes in \"system\")", m.Role)}
		}
		if err != nil {
			return "", nil, err
		}
		msgs = append(msgs, out...)
	}
	return strings.Join(sys, "\n\n"), msgs, nil
}

func userMessages(c Content, path string, names map[string]string) ([]llm.Message, error) {
	var out []llm.Message
	var text []string
	hasText := false
	flush := func() {
		if hasText {
			out = append(out, llm.UserMessage(strings.Join(text, "\n\n")))
			text, hasText = nil, false
		}
	}
	for j, b := range c {
		bp := fmt.Sprintf("%s[%d]", path, j)
		switch b.Type {
		case BlockText:
			text, hasText = append(text, b.Text), true
		case BlockToolResult:
			flush()
			if b.ToolUseID == "" {
				return nil, &FieldError{Field: bp + ".tool_use_id", Reason: "a tool_result needs the tool_use_id it answers"}
			}
			var parts []string
			for k, p := range b.Content {
				if p.Type != BlockText {
					return nil, unsupportedBlock(fmt.Sprintf("%s.content[%d]", bp, k), p.Type)
				}
				parts = append(parts, p.Text)
			}
			out = append(out, llm.ToolResultMessage(llm.ToolResult{
				ToolUseID: b.ToolUseID, Name: names[b.ToolUseID], Content: strings.Join(parts, "\n\n"), IsError: b.IsError,
			}))
		case BlockThinking, BlockRedactedThinking, BlockToolUse:
			return nil, &FieldError{Field: bp + ".type", Reason: fmt.Sprintf("a user message cannot hold a %s block", b.Type)}
		default:
			return nil, unsupportedBlock(bp, b.Type)
		}
	}
	flush()
	if len(c) == 0 {
		out = append(out, llm.UserMessage(""))
	}
	return out, nil
}

func assistantMessages(c Content, path string, names map[string]string) ([]llm.Message, error) {
	var text, reasoning []string
	var calls []llm.ToolCall
	for j, b := range c {
		bp := fmt.Sprintf("%s[%d]", path, j)
		switch b.Type {
		case BlockText:
			text = append(text, b.Text)
		case BlockThinking:
			reasoning = append(reasoning, b.Thinking)
		case BlockToolUse:
			if b.Name == "" {
				return nil, &FieldError{Field: bp + ".name", Reason: "a tool_use needs the tool's name"}
			}
			if b.ID == "" {
				return nil, &FieldError{Field: bp + ".id", Reason: "a tool_use needs an id"}
			}
			input, err := compactInput(b.Input)
			if err != nil {
				return nil, &FieldError{Field: bp + ".input", Reason: "must be a JSON object"}
			}
			names[b.ID] = b.Name
			calls = append(calls, llm.ToolCall{ID: b.ID, Name: b.Name, Input: input})
		case BlockRedactedThinking:
			return nil, &FieldError{Field: bp + ".type", Reason: "redacted_thinking blocks are not supported (only Anthropic's models can read them)"}
		case BlockToolResult:
			return nil, &FieldError{Field: bp + ".type", Reason: "an assistant message cannot hold a tool_result block"}
		default:
			return nil, unsupportedBlock(bp, b.Type)
		}
	}
	return []llm.Message{{
		Role: llm.RoleAssistant, Content: strings.Join(text, ""), Reasoning: strings.Join(reasoning, ""), ToolCalls: calls,
	}}, nil
}

// compactInput checks a tool input and writes it compactly; none is {}.
func compactInput(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("tool input is %s, not an object", jsontype.Of(raw))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// LLMTools turns the request's tools into tether's. Server tools (a type
// other than "custom") and tools without a name are *FieldError.
func (r *Request) LLMTools() ([]llm.ToolDef, error) {
	defs := make([]llm.ToolDef, 0, len(r.Tools))
	seen := map[string]bool{}
	for i, t := range r.Tools {
		path := fmt.Sprintf("tools[%d]", i)
		switch {
		case t.Type != "" && t.Type != "custom":
			return nil, &FieldError{Field: path + ".type", Reason: fmt.Sprintf("server tools (type %q) are not supported; define a client tool with name, description and input_schema", t.Type)}
		case t.Name == "":
			return nil, &FieldError{Field: path + ".name", Reason: "a tool needs a name"}
		case seen[t.Name]:
			return nil, &FieldError{Field: path + ".name", Reason: fmt.Sprintf("the tool name %q is used twice", t.Name)}
		}
		seen[t.Name] = true
		schema := bytes.TrimSpace(t.InputSchema)
		if len(schema) == 0 || string(schema) == "null" {
			return nil, &FieldError{Field: path + ".input_schema", Reason: "a tool needs an input_schema (a JSON Schema object)"}
		}
		if schema[0] != '{' {
			return nil, &FieldError{Field: path + ".input_schema", Reason: "must be a JSON Schema object, not " + jsontype.Of(schema)}
		}
		defs = append(defs, llm.ToolDef{Name: t.Name, Description: t.Description, InputSchema: json.RawMessage(schema)})
	}
	return defs, nil
}
