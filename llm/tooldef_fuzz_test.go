package llm

import (
	"encoding/json"
	"testing"
)

// FuzzParseToolDefs reads --tools files of any content: an error, or
// definitions with unique non-empty names and object schemas that are
// valid JSON; never a panic.
func FuzzParseToolDefs(f *testing.F) {
	for _, s := range []string{
		`[{"type":"function","function":{"name":"read","description":"Read a file","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}}]`,
		`[{"name":"bash","description":"Run","input_schema":{"type":"object","properties":{"cmd":{"type":"string"}}}}]`,
		`[{"name":"a"},{"name":"a"}]`,
		`[{"type":"web_search","function":{"name":"x"}}]`,
		`[{"name":"x","parameters":[1]}]`,
		`[{"name":"x","parameters":null}]`,
		`[]`, `{}`, `null`, `[null]`, `[1]`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseToolDefs(data)
		if err != nil {
			if defs != nil {
				t.Fatalf("definitions %v with the error %v", defs, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range defs {
			if d.Name == "" || seen[d.Name] {
				t.Fatalf("empty or duplicate name %q in %s", d.Name, data)
			}
			seen[d.Name] = true
			var schema map[string]any
			if err := json.Unmarshal(d.InputSchema, &schema); err != nil || schema == nil {
				t.Fatalf("tool %q: schema %s is not a JSON object: %v", d.Name, d.InputSchema, err)
			}
		}
	})
}
