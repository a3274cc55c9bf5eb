package gguf

import (
	"path/filepath"
	"strings"
)

// ModelName is the name a model file is served and logged under by
// default: its file name without the extension ("qwen2.5-0.5b-q8_0" for
// /m/qwen2.5-0.5b-q8_0.gguf). A name that is all extension (".gguf") is
// kept whole. It is tether's one rule for naming a model after its file.
func ModelName(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext != "" && len(ext) < len(base) {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}
