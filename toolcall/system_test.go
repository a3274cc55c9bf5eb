package toolcall

import (
	"encoding/json"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestCutSystem(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"verbose section cut", "You are apr code.\n\n## Tools\n| t | u |\n\n## Available Tools\n\n### glob\n", "You are apr code.\n\n## Tools\n| t | u |"},
		{"no section", "You are terse.", "You are terse."},
		{"needs the blank line", "x\n## Available Tools", "x\n## Available Tools"},
		{"first occurrence", "a\n\n## Available Tools b\n\n## Available Tools", "a"},
		{"at the start", "\n\n## Available Tools", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CutSystem(tt.in); got != tt.want {
				t.Errorf("CutSystem(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRenderTools(t *testing.T) {
	defs := []llm.ToolDef{
		{Name: "file_edit", Description: "Replace text in a file.", InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"path": {"type": "string", "description": "File to edit"},
				"old_string": {"type": "string", "description": "Exact text\n  to replace"},
				"new_string": {"type": "string"},
				"count": {"type": ["integer", "null"]},
				"mode": {"enum": ["all", "first"]},
				"tags": {"type": "array", "items": {"type": "string"}}
			},
			"required": ["path", "old_string", "new_string"]
		}`)},
		{Name: "now", InputSchema: json.RawMessage(`{"type":"object","properties":{}}`)},
	}
	want := "## Tool use\n\n" +
		"To use a tool, reply with a block like this, one block per call:\n" +
		"<tool_call>\n{\"name\": \"tool_name\", \"input\": {\"param\": \"value\"}}\n</tool_call>\n" +
		"Each result comes back in a <tool_result name=\"tool_name\"> block, with error=\"true\" if the tool failed.\n" +
		"\n### file_edit\nReplace text in a file.\nParameters:\n" +
		"- path (string, required): File to edit\n" +
		"- old_string (string, required): Exact text to replace\n" +
		"- new_string (string, required)\n" +
		"- count (integer or null)\n" +
		"- mode (any, one of \"all\", \"first\")\n" +
		"- tags (array of string)\n" +
		"\n### now\nParameters: none\n"
	got := RenderTools(defs)
	if got != want {
		t.Errorf("RenderTools =\n%s\nwant\n%s", got, want)
	}
	for range 20 { // same tools, same prompt (seed bug 23)
		if again := RenderTools(defs); again != got {
			t.Fatalf("RenderTools is not deterministic")
		}
	}
	if CutSystem("base"+"\n\n"+got) != "base\n\n"+got {
		t.Errorf("the rendered section is cut by CutSystem")
	}
}
