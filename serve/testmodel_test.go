package serve

import (
	"testing"

	"github.com/tetherllm/tether/internal/testmodel"
)

// writeModel writes the tiny test model with the named template (see
// testmodel.Templates) and returns its path. Greedy text is lower-case
// words and answers run to max_tokens.
func writeModel(t testing.TB, template string) string {
	t.Helper()
	return testmodel.Write(t, testmodel.Spec{Seed: 7, Name: "tiny-" + template, Template: testmodel.Template(t, template), WordsOnly: true})
}
