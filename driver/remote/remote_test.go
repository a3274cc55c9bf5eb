package remote

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestPrivacyOf(t *testing.T) {
	for endpoint, want := range map[string]llm.PrivacyTier{
		"http://127.0.0.1:8080":        llm.Sovereign,
		"http://[::1]:8080/v1":         llm.Sovereign,
		"http://localhost:11434":       llm.Sovereign,
		"unix:///run/llm.sock":         llm.Sovereign,
		"http://10.1.2.3:8000":         llm.Private,
		"http://192.168.1.20":          llm.Private,
		"http://[fd00::5]:8000":        llm.Private,
		"http://100.101.102.103:8000":  llm.Private,
		"http://gpu-box.internal:8000": llm.Private,
		"https://api.openai.com/v1":    llm.Standard,
		"http://8.8.8.8":               llm.Standard,
	} {
		got, err := PrivacyOf(endpoint)
		if err != nil || got != want {
			t.Errorf("PrivacyOf(%s) = %v, %v; want %v", endpoint, got, err, want)
		}
	}
	if _, err := PrivacyOf("not a url"); err == nil {
		t.Error("PrivacyOf accepted a non-URL")
	}
}

func TestDialLearnsModelAndContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			io.WriteString(w, `{"object":"list","data":[{"id":"qwen3-coder","max_model_len":65536}]}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	c, err := Dial(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info := c.Info()
	if info.Model != "qwen3-coder" || info.ContextWindow != 65536 || info.Backend != "remote" || info.Privacy != llm.Sovereign {
		t.Fatalf("info %+v", info)
	}
	if _, err := Dial(context.Background(), Options{Endpoint: srv.URL, Model: "absent"}); err != nil {
		// A named model the list lacks is still asked for; the window
		// falls back to the caller's.
		t.Fatalf("Dial with a named model: %v", err)
	}
}
