package cli

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/internal/testmodel"
)

// TestRunTetherBackendRefusedModelIsExit3: tether serve refuses a model
// file with exit status 3 and words no output classifier knows ("needs
// at least N tensors"); tether run still reports a model file problem
// (exit 3), not a server that failed to start (exit 4).
func TestRunTetherBackendRefusedModelIsExit3(t *testing.T) {
	program := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	dir := t.TempDir()
	bad := rewriteGGUF(t, synthModel(t, dir), dir, "bad.gguf", ggufEdit{keys: map[string]any{"qwen2.block_count": uint32(math.MaxInt32)}})
	code, _, errs := tether(t, context.Background(), "run", "-q", "--backend", "tether", "--server-bin", program, "--model", bad, "hi")
	if code != ExitModel || !strings.Contains(errs, "block_count") {
		t.Fatalf("exit %d, stderr %q; want %d naming block_count", code, errs, ExitModel)
	}
}

// TestRunTetherBackendHostileTemplateIsExit3: tether serve loads a model
// whose chat template recurses without end (it still serves text
// completions), and answers chat requests with a model file error;
// tether run reports a model file problem (exit 3), not a failed request
// (exit 5), at once, without retrying.
func TestRunTetherBackendHostileTemplateIsExit3(t *testing.T) {
	program := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	model := testmodel.Write(t, testmodel.Spec{Template: `{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}`, Context: 512})
	code, _, errs := tether(t, context.Background(), "run", "-q", "--backend", "tether", "--server-bin", program, "--model", model, "hi")
	if code != ExitModel || !strings.Contains(errs, "chat template") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want %d and one line about the chat template", code, errs, ExitModel)
	}
}
