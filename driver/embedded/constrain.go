package embedded

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/llm"
)

// constraint returns the grammar c's answer must follow, or nil: the
// call's GBNF grammar, its response format, or, for a forced tool call,
// the call's syntax with arguments valid against the tool's schema. The
// engine samples only tokens the grammar allows, so the answer parses
// whatever the model would have written. A constrained answer skips the
// reasoning block a prompt opened, as a forced call does.
//
// When the model may choose (tool_choice auto) and a tool is strict, the
// grammar is lazy: it waits for the trigger, the opening of a call, and
// then holds the call to the tools' schemas.
func constraint(c Call, r *rendered) (g *grammar.Grammar, trigger string, _ error) {
	format := c.ResponseFormat != nil && c.ResponseFormat.Type != llm.FormatText
	forced := r.syntax != syntaxNone && (c.ToolChoice.Mode == llm.ToolRequired || c.ToolChoice.Mode == llm.ToolNamed)
	switch n := btoi(c.Grammar != "") + btoi(format) + btoi(forced); {
	case n > 1:
		return nil, "", &llm.RequestError{Reason: "only one of a grammar, a response format and a forced tool call can constrain an answer"}
	case forced:
		g, err := toolCallGrammar(c, r, c.ToolChoice)
		return g, "", err
	case n == 1:
		r.closeThinking()
		g, err := Constraint(c.ResponseFormat, c.Grammar)
		return g, "", err
	case r.syntax == syntaxNone || c.ToolChoice.Mode != llm.ToolAuto || !slices.ContainsFunc(c.Tools, func(t llm.ToolDef) bool { return t.Strict }):
		return nil, "", nil
	}
	// The opening forceCall would write for any tool.
	trigger = "<tool_call>"
	if r.syntax == chat.ToolSyntaxLlama3 {
		trigger = `{"name": "`
	}
	g, err := toolCallGrammar(c, r, llm.ToolChoice{Mode: llm.ToolRequired})
	return g, trigger, err
}

// Constraint compiles a response format, or a GBNF grammar, into the
// grammar the engine samples under (nil for none or a text format). What
// cannot be enforced is an *llm.RequestError.
func Constraint(f *llm.ResponseFormat, gbnf string) (*grammar.Grammar, error) {
	if gbnf != "" {
		g, err := grammar.Parse(gbnf)
		if err != nil {
			return nil, &llm.RequestError{Reason: err.Error()}
		}
		return g, nil
	}
	switch {
	case f == nil || f.Type == llm.FormatText:
		return nil, nil
	case f.Type == llm.FormatJSONObject:
		return grammar.JSONObject(), nil
	}
	if err := f.Validate(); err != nil {
		return nil, &llm.RequestError{Reason: err.Error()}
	}
	g, err := grammar.FromJSONSchema(f.Schema, grammar.SchemaOptions{Strict: f.Strict})
	if err != nil {
		return nil, &llm.RequestError{Reason: "response_format: " + err.Error()}
	}
	return g, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// toolCallGrammar is the rest of a call after the opening that
// forceCall writes for choice: for any tool, the name of one of them and
// its arguments; for a named tool, its arguments; then the call's close.
func toolCallGrammar(c Call, r *rendered, choice llm.ToolChoice) (*grammar.Grammar, error) {
	argsKey, lead, closing := "arguments", "\n"+`{"name": "`, "}\n</tool_call>"
	switch r.syntax {
	case chat.ToolSyntaxLlama3:
		argsKey, lead, closing = "parameters", "", "}"
	case syntaxText:
		argsKey = "input"
	}
	parts := map[string]string{}
	var alts []string
	for i, t := range c.Tools {
		if choice.Mode == llm.ToolNamed && t.Name != choice.Name {
			continue
		}
		schema := bytes.TrimSpace(t.InputSchema)
		if len(schema) == 0 || string(schema) == "null" {
			schema = []byte(`{"type":"object"}`)
		}
		src, err := grammar.SchemaToGBNF(schema, grammar.SchemaOptions{Strict: t.Strict})
		if err != nil {
			return nil, &llm.RequestError{Reason: fmt.Sprintf("tools[%d] (%s): %v", i, t.Name, err)}
		}
		rule := fmt.Sprintf("tool%d", i)
		parts[rule] = src
		if choice.Mode == llm.ToolNamed {
			alts = append(alts, rule)
		} else {
			alts = append(alts, gbnfLiteral(jsonStringBody(t.Name)+`", "`+argsKey+`": `)+" "+rule)
		}
	}
	root := "(" + strings.Join(alts, " | ") + ") " + gbnfLiteral(closing)
	if choice.Mode == llm.ToolRequired && lead != "" {
		root = gbnfLiteral(lead) + " " + root
	}
	g, err := grammar.Compose(root, parts)
	if err != nil {
		return nil, &llm.RequestError{Reason: "the tools' schemas make no usable grammar: " + err.Error()}
	}
	return g, nil
}

// gbnfLiteral is s as a GBNF string literal.
func gbnfLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// closeThinking ends a reasoning block the prompt opened, so that a
// constrained answer starts at once.
func (r *rendered) closeThinking() {
	if r.prompt.Thinking != chat.ThinkingOpen {
		return
	}
	const end = "</think>\n\n"
	r.prompt.Text += end
	r.prefill += end
}
