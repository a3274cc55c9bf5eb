package llm

import (
	"encoding/json"
	"fmt"
)

// ParseToolDefs reads a JSON array of tool definitions. Each element is
// either the seed's form {name, description, input_schema} or OpenAI's
// {type: "function", function: {name, description, parameters}}; the two
// may be mixed.
func ParseToolDefs(data []byte) ([]ToolDef, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("llm: tools: want a JSON array of tool definitions: %w", err)
	}
	defs := make([]ToolDef, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for i, r := range raw {
		def, err := parseToolDef(r)
		if err != nil {
			return nil, fmt.Errorf("llm: tools[%d]: %w", i, err)
		}
		if seen[def.Name] {
			return nil, fmt.Errorf("llm: tools[%d]: duplicate tool name %q", i, def.Name)
		}
		seen[def.Name] = true
		defs = append(defs, def)
	}
	return defs, nil
}

func parseToolDef(r json.RawMessage) (ToolDef, error) {
	var v struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      bool            `json:"strict"`
		Function    *struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      bool            `json:"strict"`
		} `json:"function"`
	}
	if err := json.Unmarshal(r, &v); err != nil {
		return ToolDef{}, err
	}
	def := ToolDef{Name: v.Name, Description: v.Description, InputSchema: v.InputSchema, Strict: v.Strict}
	if len(def.InputSchema) == 0 {
		def.InputSchema = v.Parameters
	}
	if v.Function != nil {
		if v.Type != "" && v.Type != "function" {
			return ToolDef{}, fmt.Errorf("unsupported tool type %q", v.Type)
		}
		def = ToolDef{Name: v.Function.Name, Description: v.Function.Description, InputSchema: v.Function.Parameters, Strict: v.Function.Strict}
	}
	if def.Name == "" {
		return ToolDef{}, fmt.Errorf("tool has no name")
	}
	if len(def.InputSchema) == 0 || string(def.InputSchema) == "null" {
		def.InputSchema = json.RawMessage(`{"type":"object","properties":{}}`)
	}
	var schema map[string]any
	if err := json.Unmarshal(def.InputSchema, &schema); err != nil {
		return ToolDef{}, fmt.Errorf("tool %q: input schema must be a JSON object: %w", def.Name, err)
	}
	return def, nil
}
