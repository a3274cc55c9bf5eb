package openai

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// FuzzErrorBody reads error answers of any shape, status and size: the
// result is always a typed error whose message is bounded and on one
// line's worth of text from the body, never a panic.
func FuzzErrorBody(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{400, `{"error":{"message":"bad","type":"invalid_request_error","code":"x"}}`},
		{400, `{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}}`},
		{400, `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","code":400}`},
		{422, `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`},
		{500, `{"detail":"boom"}`},
		{429, `{"error":"slow down"}`},
		{503, `{"error":{"message":"Loading model","type":"unavailable_error","code":503}}`},
		{502, "<html>bad gateway</html>"},
		{500, `{"error":{"code":1e999}}`},
		{500, `{"error":{"code":"model_file_error","message":"model m.gguf: bad"}}`},
		{500, ""},
		{200, `{"error":{"message":"in a stream","code":"rate_limit_exceeded"}}`},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 400 + (status%200+200)%200
		}
		err := statusError(status, http.Header{"Retry-After": {"1"}}, body)
		if err == nil {
			t.Fatalf("statusError(%d) = nil", status)
		}
		var typed interface{ Retryable() bool }
		if !errors.As(err, &typed) {
			t.Fatalf("statusError(%d) = %T, not a typed llm error", status, err)
		}
		var ov *llm.ContextOverflowError
		if status == http.StatusTooManyRequests && !errors.As(err, &ov) && !llm.Retryable(err) {
			t.Fatalf("429 is not retryable: %v", err)
		}
		// The message is the server's words or a snippet of the body, never
		// the whole of a large body.
		if n := len(err.Error()); n > 2*len(body)+4096 && n > 8192 {
			t.Fatalf("message of %d bytes for a body of %d", n, len(body))
		}
		info := parseErrorBody(body)
		if serr := streamError(info); serr == nil {
			t.Fatal("streamError = nil")
		}
		if status := statusOf(info); status < 400 || status > 599 {
			t.Fatalf("statusOf = %d", status)
		}
		_ = strings.TrimSpace(info.Message)
	})
}
