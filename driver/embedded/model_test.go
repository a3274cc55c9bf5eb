package embedded

import (
	"testing"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/internal/testmodel"
)

// writeModel writes the tiny test model with the named template (see
// testmodel.Templates) and returns its path. Greedy text is lower-case
// words and answers run to max_tokens.
func writeModel(t testing.TB, template string) string {
	t.Helper()
	return testmodel.Write(t, testmodel.Spec{Seed: 7, Name: "tiny-" + template, Template: testmodel.Template(t, template), WordsOnly: true})
}

// loadEngine loads the tiny model with the named template.
func loadEngine(t testing.TB, template string, opts engine.Options) *engine.Engine {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	if opts.ContextLength == 0 {
		opts.ContextLength = 512
	}
	e, err := engine.Load(writeModel(t, template), opts)
	if err != nil {
		t.Fatalf("engine.Load: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
