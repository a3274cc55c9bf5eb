package serve

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherllm/tether/internal/testmodel"
)

// A model whose chat template recurses without end loads; the warning
// that chat will fail goes to the server's own logger, chat answers a
// model file error, and text completions work.
func TestUnusableTemplateWarnsThroughTheServersLogger(t *testing.T) {
	var logs syncBuffer
	model := testmodel.Write(t, testmodel.Spec{Template: `{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}`, Context: 512})
	ts := startServer(t, Config{Model: model, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "chat template cannot be used") {
		t.Fatalf("the server's log lacks the template warning:\n%s", logs.String())
	}
	a := ts.call(t, http.MethodPost, "/v1/chat/completions", []byte(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`), "")
	if a.status != http.StatusInternalServerError || !strings.Contains(string(a.body), `"model_file_error"`) {
		t.Fatalf("chat: %d %s", a.status, a.body)
	}
	a = ts.call(t, http.MethodPost, "/v1/completions", []byte(`{"prompt":"hi","max_tokens":2}`), "")
	if a.status != http.StatusOK {
		t.Fatalf("completion: %d %s", a.status, a.body)
	}
}
