package synth

import (
	_ "embed"
	"fmt"
)

// The official chat templates (copies of engine/chat's test data, which
// copies llama.cpp's models/templates), so that engine/chat recognises
// each family in the files written here.
var (
	//go:embed templates/qwen2.5.jinja
	qwen25Template string
	//go:embed templates/qwen3.jinja
	qwen3Template string
	//go:embed templates/llama3.jinja
	llama3Template string
)

// ChatTemplate returns the template text of a family.
func ChatTemplate(family string) (string, error) {
	switch family {
	case TemplateQwen25:
		return qwen25Template, nil
	case TemplateQwen3:
		return qwen3Template, nil
	case TemplateLlama3:
		return llama3Template, nil
	}
	return "", fmt.Errorf("synth: unknown chat template %q", family)
}
