package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// verboseToolsHeading starts the section with full JSON schemas that the
// seed's callers may append to a system prompt.
const verboseToolsHeading = "\n\n## Available Tools"

// CutSystem cuts a system prompt at its first "\n\n## Available Tools",
// exactly as the seed does, keeping what comes before (such as a compact
// "## Tools" table).
func CutSystem(system string) string {
	if i := strings.Index(system, verboseToolsHeading); i >= 0 {
		return system[:i]
	}
	return system
}

// RenderTools describes tools for a text-mode system prompt: how to call
// them, then each tool's name, description and parameters (with type,
// required mark, allowed values and description), in the order given, so
// that the same tools always give the same prompt.
func RenderTools(defs []llm.ToolDef) string {
	var b strings.Builder
	b.WriteString("## Tool use\n\n" +
		"To use a tool, reply with a block like this, one block per call:\n" +
		callOpen + "\n" + `{"name": "tool_name", "input": {"param": "value"}}` + "\n" + callClose + "\n" +
		`Each result comes back in a <tool_result name="tool_name"> block, with error="true" if the tool failed.` + "\n")
	for _, d := range defs {
		b.WriteString("\n### ")
		b.WriteString(d.Name)
		b.WriteByte('\n')
		if desc := strings.TrimSpace(d.Description); desc != "" {
			b.WriteString(desc)
			b.WriteByte('\n')
		}
		writeParameters(&b, d.InputSchema)
	}
	return b.String()
}

// schema is the part of a JSON Schema that RenderTools shows.
type schema struct {
	Type        json.RawMessage   `json:"type"`
	Description string            `json:"description"`
	Enum        []json.RawMessage `json:"enum"`
	Items       *schema           `json:"items"`
	Required    []string          `json:"required"`
	Properties  json.RawMessage   `json:"properties"`
}

func writeParameters(b *strings.Builder, raw json.RawMessage) {
	var s schema
	props, err := orderedProperties(raw, &s)
	if err != nil || len(props) == 0 {
		b.WriteString("Parameters: none\n")
		return
	}
	required := make(map[string]bool, len(s.Required))
	for _, r := range s.Required {
		required[r] = true
	}
	b.WriteString("Parameters:\n")
	for _, p := range props {
		var ps schema
		_ = json.Unmarshal(p.schema, &ps) // a property that is not an object shows as "any"
		b.WriteString("- ")
		b.WriteString(p.name)
		b.WriteString(" (")
		b.WriteString(typeName(ps))
		if required[p.name] {
			b.WriteString(", required")
		}
		if len(ps.Enum) > 0 {
			b.WriteString(", one of ")
			for i, v := range ps.Enum {
				if i > 0 {
					b.WriteString(", ")
				}
				b.Write(compact(v))
			}
		}
		b.WriteByte(')')
		if desc := strings.Join(strings.Fields(ps.Description), " "); desc != "" {
			b.WriteString(": ")
			b.WriteString(desc)
		}
		b.WriteByte('\n')
	}
}

type property struct {
	name   string
	schema json.RawMessage
}

// orderedProperties decodes a schema and lists its properties in the
// order the schema gives them.
func orderedProperties(raw json.RawMessage, s *schema) ([]property, error) {
	if err := json.Unmarshal(raw, s); err != nil || len(s.Properties) == 0 {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(s.Properties))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, err
	}
	var props []property
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		props = append(props, property{name: t.(string), schema: v})
	}
	return props, nil
}

// typeName renders a property's type: "string", "string or null",
// "array of integer", or "any".
func typeName(s schema) string {
	var one string
	var many []string
	switch {
	case json.Unmarshal(s.Type, &one) == nil && one != "":
	case json.Unmarshal(s.Type, &many) == nil && len(many) > 0:
		one = strings.Join(many, " or ")
	default:
		one = "any"
	}
	if one == "array" && s.Items != nil {
		if item := typeName(*s.Items); item != "any" {
			one += " of " + item
		}
	}
	return one
}

func compact(v json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}
