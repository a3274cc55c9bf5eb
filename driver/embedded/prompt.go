package embedded

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// Tool syntaxes the output is parsed with, besides chat's native ones.
const (
	// syntaxNone: no tools, nothing to parse.
	syntaxNone = ""
	// syntaxText: tether's text protocol (package toolcall).
	syntaxText = "text"
)

// rendered is a conversation turned into prompt text, and how to read
// the answer.
type rendered struct {
	prompt chat.Prompt
	// syntax is how calls are parsed from the answer: syntaxNone,
	// syntaxText, chat.ToolSyntaxHermes or chat.ToolSyntaxLlama3.
	syntax string
	// prefill is the start of the answer the prompt already holds (the
	// opening of a forced call); the answer's parsers read it first.
	prefill string
}

// render renders c with the model's template: natively where the
// template can express the conversation, else in the text protocol.
func (d *Driver) render(c Call) (rendered, error) {
	tmpl, err := d.eng.Template()
	if err != nil {
		return rendered{}, &llm.ModelFileError{Path: d.eng.Info().Path, Reason: "the chat template cannot be used", Err: err}
	}
	tools := c.Tools
	if c.ToolChoice.Mode == llm.ToolNone {
		tools = nil
	}
	system := c.System
	if len(c.Tools) > 0 {
		// The seed's callers append a verbose tool section; the tools
		// travel natively or in RenderTools' compact form instead.
		system = toolcall.CutSystem(system)
	}
	opts := chat.Options{AddGenerationPrompt: true, EnableThinking: c.EnableThinking}

	var r rendered
	p, err := tmpl.Render(chat.Conversation{System: system, Messages: c.Messages, Tools: tools}, opts)
	switch {
	case err == nil:
		r.prompt = p
		if len(tools) > 0 {
			r.syntax = tmpl.ToolSyntax()
			if r.syntax == "" {
				// A Jinja template that renders tools without a known
				// call syntax: most such models write <tool_call> blocks.
				r.syntax = chat.ToolSyntaxHermes
			}
		}
	case errors.Is(err, chat.ErrToolsUnsupported):
		if len(tools) > 0 {
			system = toolcall.JoinText(system, toolcall.RenderTools(tools))
		}
		p, err = tmpl.Render(chat.Conversation{System: system, Messages: toolcall.RenderHistory(c.Messages)}, opts)
		if err != nil {
			return rendered{}, d.renderError(err)
		}
		r.prompt = p
		if len(tools) > 0 {
			r.syntax = syntaxText
		}
	default:
		return rendered{}, d.renderError(err)
	}
	if c.ToolChoice.Mode == llm.ToolRequired || c.ToolChoice.Mode == llm.ToolNamed {
		r.forceCall(c.ToolChoice)
	}
	return r, nil
}

// renderError says why a conversation did not render: the request's
// fault, or the model file's when its template ran over its evaluation
// budget (a hostile or broken template).
func (d *Driver) renderError(err error) error {
	if errors.Is(err, chat.ErrTemplateLimit) {
		return &llm.ModelFileError{Path: d.eng.Info().Path, Reason: "the chat template ran over its evaluation budget", Err: err}
	}
	return &llm.RequestError{Reason: err.Error()}
}

// forceCall ends the prompt with the opening of a call, so that the model
// can only go on to write one. For a named tool the opening holds the
// name and the key of the arguments. For any tool it is the opener alone
// where the syntax has one (<tool_call>), leaving the model to write the
// rest as it was trained to; Llama 3's bare JSON has none, so there it is
// {"name": ".
func (r *rendered) forceCall(choice llm.ToolChoice) {
	var open, argsKey string
	switch r.syntax {
	case chat.ToolSyntaxLlama3:
		open, argsKey = `{"name": "`, "parameters"
	case syntaxText:
		open, argsKey = "<tool_call>", "input"
	default:
		open, argsKey = "<tool_call>", "arguments"
	}
	r.closeThinking()
	var pre strings.Builder
	pre.WriteString(open)
	text := r.prompt.Text + pre.String()
	spans := r.prompt.Content
	if choice.Mode == llm.ToolNamed {
		if open == "<tool_call>" {
			lead := "\n" + `{"name": "`
			text += lead
			pre.WriteString(lead)
		}
		name := jsonStringBody(choice.Name)
		start := len(text)
		text += name
		spans = append(append([]chat.Span(nil), spans...), chat.Span{Start: start, End: len(text)})
		suffix := `", "` + argsKey + `": `
		text += suffix
		pre.WriteString(name + suffix)
	}
	r.prompt.Text, r.prompt.Content = text, spans
	r.prefill += pre.String()
}

// jsonStringBody is s as the inside of a JSON string.
func jsonStringBody(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b[1 : len(b)-1])
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
