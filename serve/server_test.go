package serve

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHealthWhileLoading(t *testing.T) {
	ts := startServer(t, Config{}, true)
	a := ts.call(t, http.MethodGet, "/health", nil, "")
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("/health while loading: %d %s", a.status, a.body)
	}
	v := a.json(t)
	obj := a.errorObject(t)
	if obj["code"] != "model_loading" || obj["message"] != "Loading model" || obj["type"] != "unavailable_error" {
		t.Errorf("loading body %s, want llama.cpp's shape with a string code", a.body)
	}
	if _, ok := v["progress"].(float64); !ok {
		t.Errorf("loading body has no progress: %s", a.body)
	}
	models := ts.call(t, http.MethodGet, "/v1/models", nil, "")
	if models.status != http.StatusOK || !strings.Contains(string(models.body), `"meta":null`) || !strings.Contains(string(models.body), `"id":"tiny-chatml"`) {
		t.Errorf("/v1/models while loading: %d %s", models.status, models.body)
	}
	chat := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(nil), "")
	if chat.status != http.StatusServiceUnavailable {
		t.Errorf("chat while loading: %d %s", chat.status, chat.body)
	}
	chat.errorObject(t)

	if err := ts.Load(); err != nil {
		t.Fatal(err)
	}
	a = ts.call(t, http.MethodGet, "/health", nil, "")
	if a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != `{"status":"ok"}` {
		t.Errorf("/health when ready: %d %s", a.status, a.body)
	}
	if got := ts.call(t, http.MethodGet, "/v1/health", nil, ""); got.status != http.StatusOK {
		t.Errorf("/v1/health: %d", got.status)
	}
	if err := ts.Load(); err == nil {
		t.Errorf("a second Load succeeded")
	}
}

func TestLoadFailure(t *testing.T) {
	ts := startServer(t, Config{Model: "/nonexistent/model.gguf"}, true)
	if err := ts.Load(); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	a := ts.call(t, http.MethodGet, "/health", nil, "")
	if a.status != http.StatusInternalServerError || !strings.Contains(string(a.body), "nonexistent") || a.errorObject(t)["code"] != "model_load_failed" {
		t.Errorf("/health after a failed load: %d %s", a.status, a.body)
	}
	chat := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(nil), "")
	if chat.status != http.StatusInternalServerError || chat.errorObject(t)["code"] != "model_load_failed" {
		t.Errorf("chat after a failed load: %d %s", chat.status, chat.body)
	}
}

func TestModelsAndProps(t *testing.T) {
	ts := startServer(t, Config{Alias: "tiny", Engine: enginePar(2)})
	m := ts.call(t, http.MethodGet, "/v1/models", nil, "").json(t)
	data, _ := m["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("models %v", m)
	}
	model := data[0].(map[string]any)
	meta, _ := model["meta"].(map[string]any)
	if model["id"] != "tiny" || model["owned_by"] != "tether" || model["max_model_len"] != 512.0 || meta == nil {
		t.Fatalf("model %v", model)
	}
	if meta["n_ctx_train"] != 4096.0 || meta["n_vocab"].(float64) < 256 || meta["n_params"].(float64) <= 0 || meta["size"].(float64) <= 0 || meta["n_embd"] != 64.0 {
		t.Errorf("meta %v", meta)
	}
	p := ts.call(t, http.MethodGet, "/props", nil, "").json(t)
	dgs, _ := p["default_generation_settings"].(map[string]any)
	if p["n_ctx"] != 512.0 || dgs["n_ctx"] != 512.0 || p["total_slots"] != 2.0 || !strings.Contains(p["chat_template"].(string), "im_start") || p["build_info"] == "" {
		t.Errorf("props %v", p)
	}
}

// TestModelNames checks which names a request may give its model: any
// name by default, answered by the served model under its own id; under
// StrictModel only the id, the file name and the path, others 404.
func TestModelNames(t *testing.T) {
	own := []string{"tiny", "tiny-chatml", "tiny-chatml.gguf"}
	t.Run("any name", func(t *testing.T) {
		ts := startServer(t, Config{Alias: "tiny"})
		for _, name := range append(own, "gpt-4o-mini", "", ts.cfg.Model) {
			a := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(map[string]any{"model": name, "max_tokens": 1}), "")
			if a.status != http.StatusOK {
				t.Fatalf("model %q: %d %s", name, a.status, a.body)
			}
			if got := a.json(t)["model"]; got != "tiny" {
				t.Errorf("model %q answered as %v, want the served id", name, got)
			}
			c := ts.call(t, http.MethodPost, "/v1/completions", map[string]any{"model": name, "prompt": "hi", "max_tokens": 1}, "")
			if c.status != http.StatusOK || c.json(t)["model"] != "tiny" {
				t.Errorf("completion with model %q: %d %s", name, c.status, c.body)
			}
		}
	})
	t.Run("strict", func(t *testing.T) {
		ts := startServer(t, Config{Alias: "tiny", StrictModel: true})
		for path, body := range map[string]any{
			"/v1/chat/completions": chatBody(map[string]any{"model": "gpt-4"}),
			"/v1/completions":      map[string]any{"model": "gpt-4", "prompt": "hi"},
		} {
			a := ts.call(t, http.MethodPost, path, body, "")
			if a.status != http.StatusNotFound {
				t.Fatalf("%s unknown model: %d %s", path, a.status, a.body)
			}
			if obj := a.errorObject(t); obj["code"] != "model_not_found" || obj["param"] != "model" || !strings.Contains(obj["message"].(string), "gpt-4") {
				t.Errorf("unknown model error %v", obj)
			}
		}
		for _, name := range append(own, "", ts.cfg.Model) {
			if a := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(map[string]any{"model": name, "max_tokens": 1}), ""); a.status != http.StatusOK {
				t.Errorf("model %q: %d %s", name, a.status, a.body)
			}
		}
	})
}

func TestTokenize(t *testing.T) {
	ts := startServer(t, Config{})
	a := ts.call(t, http.MethodPost, "/tokenize", map[string]any{"content": "hello <|im_end|>"}, "")
	toks, _ := a.json(t)["tokens"].([]any)
	if a.status != http.StatusOK || len(toks) < 2 {
		t.Fatalf("/tokenize: %d %s", a.status, a.body)
	}
	plain := ts.call(t, http.MethodPost, "/tokenize", map[string]any{"content": "hello <|im_end|>", "parse_special": false}, "")
	if ptoks, _ := plain.json(t)["tokens"].([]any); len(ptoks) <= len(toks) {
		t.Errorf("parse_special false gave %d tokens, with parsing %d", len(ptoks), len(toks))
	}
	d := ts.call(t, http.MethodPost, "/detokenize", map[string]any{"tokens": toks}, "")
	if got := d.json(t)["content"]; got != "hello <|im_end|>" {
		t.Errorf("/detokenize round trip: %q", got)
	}
	wp := ts.call(t, http.MethodPost, "/tokenize", map[string]any{"content": "hé", "with_pieces": true}, "")
	pieces, _ := wp.json(t)["tokens"].([]any)
	if len(pieces) == 0 {
		t.Fatalf("with_pieces: %s", wp.body)
	}
	if p0, _ := pieces[0].(map[string]any); p0["piece"] == nil || p0["id"] == nil {
		t.Errorf("with_pieces: %s", wp.body)
	}
	if bad := ts.call(t, http.MethodPost, "/detokenize", map[string]any{"tokens": []int{1 << 30}}, ""); bad.status != http.StatusBadRequest {
		t.Errorf("/detokenize with a bad id: %d", bad.status)
	}
}

func TestPanicIsAnswered(t *testing.T) {
	ts := startServer(t, Config{})
	ts.routes["/boom"] = route{method: http.MethodGet, handler: func(*Server, http.ResponseWriter, *http.Request, *loadedModel) *apiError {
		panic("boom")
	}}
	a := ts.call(t, http.MethodGet, "/boom", nil, "")
	if a.status != http.StatusInternalServerError {
		t.Fatalf("panic answered %d %s", a.status, a.body)
	}
	if obj := a.errorObject(t); obj["code"] != "internal_error" {
		t.Errorf("panic answered %v", obj)
	}
	if ok := ts.call(t, http.MethodGet, "/health", nil, ""); ok.status != http.StatusOK {
		t.Errorf("server unhealthy after a panic: %d", ok.status)
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Run("in-flight request finishes", func(t *testing.T) {
		ts := startServer(t, Config{ShutdownGrace: time.Minute, Engine: engineCtx(1024)})
		lines, _ := ts.sseLines(t, context.Background(), "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": 200, "ignore_eos": true}), "")
		<-lines // the role chunk: the request is in flight
		stopped := make(chan error, 1)
		go func() { stopped <- ts.stop(t) }()
		waitFor(t, "shutdown to begin", ts.closing.Load)
		if st := ts.model.Load().eng.Stats(); st.Active != 1 {
			t.Fatalf("the generation ended before the shutdown began (%+v); make it longer", st)
		}
		var all []string
		for l := range lines {
			all = append(all, l)
		}
		if last := lastData(all); last != "data: [DONE]" {
			t.Errorf("stream cut by shutdown; last line %q", last)
		}
		if err := <-stopped; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := http.Get(ts.url + "/health"); err == nil {
			t.Errorf("the server still accepts connections after shutdown")
		}
	})
	t.Run("grace period ends", func(t *testing.T) {
		ts := startServer(t, Config{ShutdownGrace: 100 * time.Millisecond, Engine: engineCtx(4096)})
		lines, _ := ts.sseLines(t, context.Background(), "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": -1, "ignore_eos": true}), "")
		<-lines
		start := time.Now()
		if err := ts.stop(t); err != nil {
			t.Errorf("Serve: %v", err)
		}
		var all []string
		for l := range lines {
			all = append(all, l)
		}
		last := lastData(all)
		if !strings.Contains(last, "shutting down") {
			t.Errorf("a cancelled stream ended with %q, want a shutting-down error", last)
		}
		answer{status: 200, body: []byte(strings.TrimPrefix(last, "data: "))}.errorObject(t)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("shutdown took %s with a grace of 100ms", d)
		}
		waitFor(t, "the engine to go idle", ts.engineIdle)
	})
}

func lastData(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "data:") {
			return lines[i]
		}
	}
	return ""
}

func TestPanicInStreamIsAnswered(t *testing.T) {
	boom := func(yield func(int, error) bool) {
		yield(1, nil)
		panic("boom")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items, wait := relay(ctx, boom)
	var errs []error
	for it := range items {
		if it.err != nil {
			errs = append(errs, it.err)
		}
	}
	wait()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "boom") {
		t.Errorf("errors %v", errs)
	}
}

// TestRetrieveModel checks GET /v1/models/{id}: the served model for any
// id, or under StrictModel for its own names only, public like the list,
// and answered while the model loads.
func TestRetrieveModel(t *testing.T) {
	ts := startServer(t, Config{Alias: "tiny", APIKey: testKey})
	for _, p := range []string{"/v1/models/tiny", "/models/tiny", "/v1/models/gpt-4o-mini", "/v1/models/org/some-model"} {
		a := ts.call(t, http.MethodGet, p, nil, "")
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, a.status, a.body)
		}
		m := a.json(t)
		if m["id"] != "tiny" || m["object"] != "model" || m["owned_by"] != "tether" || m["max_model_len"] != 512.0 {
			t.Errorf("%s: %v", p, m)
		}
	}
	if a := ts.call(t, http.MethodGet, "/v1/models/", nil, ""); a.status != http.StatusOK || a.json(t)["object"] != "list" {
		t.Errorf("/v1/models/: %d %s", a.status, a.body)
	}
	if a := ts.call(t, http.MethodPost, "/v1/models/tiny", nil, ""); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/models/tiny: %d", a.status)
	}
	if v := ts.metric(t, testKey, `tether_requests_total{endpoint="/v1/models/{id}",status="200"}`); v != 4 {
		t.Errorf("metrics count %v retrievals under /v1/models/{id}, want 4 (three ids and the empty one)", v)
	}

	strict := startServer(t, Config{Alias: "tiny", StrictModel: true})
	for _, p := range []string{"/v1/models/tiny", "/v1/models/tiny-chatml.gguf", "/models/tiny-chatml"} {
		if a := strict.call(t, http.MethodGet, p, nil, ""); a.status != http.StatusOK || a.json(t)["id"] != "tiny" {
			t.Errorf("strict %s: %d %s", p, a.status, a.body)
		}
	}
	a := strict.call(t, http.MethodGet, "/v1/models/gpt-4o-mini", nil, "")
	if a.status != http.StatusNotFound {
		t.Fatalf("strict, unknown id: %d %s", a.status, a.body)
	}
	if obj := a.errorObject(t); obj["code"] != "model_not_found" {
		t.Errorf("strict, unknown id: %v", obj)
	}

	loading := startServer(t, Config{Alias: "tiny"}, true)
	if a := loading.call(t, http.MethodGet, "/v1/models/tiny", nil, ""); a.status != http.StatusOK || a.json(t)["meta"] != nil {
		t.Errorf("while loading: %d %s", a.status, a.body)
	}
}
