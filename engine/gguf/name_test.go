package gguf

import "testing"

func TestModelName(t *testing.T) {
	for path, want := range map[string]string{
		"/m/qwen2.5-0.5b-q8_0.gguf": "qwen2.5-0.5b-q8_0",
		"model":                     "model",
		".gguf":                     ".gguf",
		"dir/a.b.gguf":              "a.b",
	} {
		if got := ModelName(path); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", path, got, want)
		}
	}
}
