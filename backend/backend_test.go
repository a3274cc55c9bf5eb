package backend

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:                      {"a", "b", "c"},
		`srv --model '{model}'`:       {"srv", "--model", "{model}"},
		`"a b" c\ d`:                  {"a b", "c d"},
		`x "say \"hi\"" 'it''s'`:      {"x", `say "hi"`, "its"},
		`x "back\\slash" "keep\n"`:    {"x", `back\slash`, `keep\n`},
		"  lead\ttab\nnewline  ":      {"lead", "tab", "newline"},
		`empty "" ''`:                 {"empty", "", ""},
		`glued"quoted part"and'more'`: {"glued" + "quoted part" + "and" + "more"},
	} {
		got, err := splitWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`a "b`, `a 'b`, `a \`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) accepted it", bad)
		}
	}
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`a "b c" d`, `x\ y`, `'q'`, `"\\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err != nil {
			return
		}
		// Re-quoting every word and splitting again gives the same words.
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := splitWords(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, words) {
			t.Fatalf("%q: words %q re-split as %q (%v)", s, words, again, err)
		}
	})
}

func TestCustomTemplate(t *testing.T) {
	p, err := Custom(`my-server --model "{model}" --listen {host}:{port} --key={api_key} --name {alias} -c {ctx}`, "ready")
	if err != nil {
		t.Fatal(err)
	}
	args, err := p.Args(Launch{Model: "/m/a model.gguf", Host: "127.0.0.1", Port: 9000, APIKey: "k", Alias: "n", ContextSize: 512, ExtraArgs: []string{"--x"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--model", "/m/a model.gguf", "--listen", "127.0.0.1:9000", "--key=k", "--name", "n", "-c", "512", "--x"}
	if p.Program != "my-server" || !slices.Equal(args, want) {
		t.Fatalf("%s %q, want my-server %q", p.Program, args, want)
	}
	if !p.APIKey || !p.Alias || p.HealthPath != "/ready" {
		t.Fatalf("profile %+v", p)
	}
	for _, bad := range []string{"", "srv --model {model}", "srv --port {port} {bogus}", "{model} --port {port}", `srv "--port {port}`} {
		if _, err := Custom(bad, ""); err == nil {
			t.Errorf("Custom(%q) accepted it", bad)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range Names[1:] {
		o := Options{Command: "srv --port {port}"}
		p, err := Lookup(name, o)
		if err != nil || p.Name != name || p.Args == nil || p.HealthPath == "" {
			t.Errorf("Lookup(%s) = %+v, %v", name, p, err)
		}
	}
	if _, err := Lookup("llamafile", Options{}); err == nil {
		t.Error("Lookup accepted an unknown backend")
	}
	p, _ := Lookup("llama-server", Options{Program: "/opt/llama/bin/llama-server"})
	if p.Program != "/opt/llama/bin/llama-server" {
		t.Errorf("explicit program ignored: %s", p.Program)
	}
}

func TestGPUFlags(t *testing.T) {
	l := Launch{Model: "m.gguf", Host: "127.0.0.1", Port: 1, GPU: true}
	for _, c := range []struct {
		p    Profile
		want string
	}{{Apr(), "--gpu"}, {LlamaServer(), "-ngl"}} {
		on, _ := c.p.Args(l)
		l2 := l
		l2.GPU = false
		off, _ := c.p.Args(l2)
		if !slices.Contains(on, c.want) || slices.Contains(off, c.want) {
			t.Errorf("%s: with GPU %q, without %q", c.p.Name, on, off)
		}
	}
}

// fakeOllama answers the parts of ollama's API the profile uses, and
// records what it was sent.
type fakeOllama struct {
	mu        sync.Mutex
	blobs     map[string][]byte
	created   map[string]any
	loadError string
	template  string
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/api/blobs/"):
		data, _ := io.ReadAll(r.Body)
		f.blobs[strings.TrimPrefix(r.URL.Path, "/api/blobs/")] = data
		w.WriteHeader(http.StatusCreated)
	case r.Method == "POST" && r.URL.Path == "/api/create":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		for _, digest := range req["files"].(map[string]any) {
			if _, ok := f.blobs[digest.(string)]; !ok {
				http.Error(w, `{"error":"blob not found"}`, http.StatusBadRequest)
				return
			}
		}
		f.created = req
		io.WriteString(w, `{"status":"success"}`)
	case r.Method == "POST" && r.URL.Path == "/api/generate":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		if req["model"] != f.created["model"] {
			http.Error(w, `{"error":"model not found"}`, http.StatusNotFound)
			return
		}
		if f.loadError != "" {
			http.Error(w, `{"error":"`+f.loadError+`"}`, http.StatusInternalServerError)
			return
		}
		io.WriteString(w, `{"done":true,"done_reason":"load"}`)
	case r.Method == "POST" && r.URL.Path == "/api/show":
		tmpl, _ := json.Marshal(f.template)
		io.WriteString(w, `{"parameters":"stop \"<|im_end|>\"\nnum_ctx 6144","model_info":{"qwen2.context_length":32768},"capabilities":["completion"],"template":`+string(tmpl)+`}`)
	default:
		http.NotFound(w, r)
	}
}

func TestOllamaRegistersTheModelAndReadsItsContext(t *testing.T) {
	fake := &fakeOllama{blobs: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	model := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(model, []byte("GGUF model bytes"), 0o644)
	api, err := openai.New(openai.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := Ollama()
	s := Server{Launch: Launch{Model: model, Alias: "tether-abc", ContextSize: 6144}, BaseURL: srv.URL, HTTP: srv.Client(), API: api}
	if err := p.AfterReady(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if fake.created["model"] != "tether-abc" || fake.created["parameters"].(map[string]any)["num_ctx"] != 6144.0 {
		t.Fatalf("created %v", fake.created)
	}
	if len(fake.blobs) != 1 {
		t.Fatalf("blobs %v", fake.blobs)
	}
	for digest, data := range fake.blobs {
		if want, _ := fileDigest(model); digest != want || string(data) != "GGUF model bytes" {
			t.Fatalf("blob %s = %q", digest, data)
		}
	}
	if n, ok := p.ContextWindow(context.Background(), s); !ok || n != 6144 {
		t.Fatalf("context %d %v, want num_ctx 6144", n, ok)
	}
	if mode, err := p.Tools(context.Background(), s); err != nil || mode != openai.ToolsText {
		t.Fatalf("tools %v %v, want text for a model without the tools capability", mode, err)
	}
	env := p.Env(Launch{Host: "127.0.0.1", Port: 11500, StateDir: "/tmp/x", ContextSize: 6144})
	for _, want := range []string{"OLLAMA_HOST=127.0.0.1:11500", "OLLAMA_MODELS=/tmp/x/models", "OLLAMA_CONTEXT_LENGTH=6144", "HOME=/tmp/x", "OLLAMA_NOPRUNE=1", "OLLAMA_NO_CLOUD=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("env %q lacks %q", env, want)
		}
	}
}

func TestOllamaLoadFailureIsAModelFileError(t *testing.T) {
	fake := &fakeOllama{blobs: map[string][]byte{}, loadError: "unable to load model"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	model := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(model, []byte("GGUF model bytes"), 0o644)
	s := Server{Launch: Launch{Model: model, Alias: "tether-abc"}, BaseURL: srv.URL, HTTP: srv.Client()}
	err := Ollama().AfterReady(context.Background(), s)
	var mf *llm.ModelFileError
	if !errors.As(err, &mf) || mf.Path != model || !strings.Contains(err.Error(), "unable to load model") {
		t.Fatalf("err = %v, want a ModelFileError for %s with ollama's reason", err, model)
	}
}

func TestOllamaOwnershipToken(t *testing.T) {
	l := Launch{StateDir: t.TempDir(), Alias: "tether-abc"}
	p := Ollama()
	if err := p.Prepare(l); err != nil {
		t.Fatal(err)
	}
	// A stand-in for ollama's HEAD /api/blobs/DIGEST over a model folder.
	serve := func(models string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := strings.Replace(strings.TrimPrefix(r.URL.Path, "/api/blobs/"), ":", "-", 1)
			if _, err := os.Stat(filepath.Join(models, "blobs", name)); r.Method != http.MethodHead || err != nil {
				http.NotFound(w, r)
			}
		}))
	}
	ours := serve(filepath.Join(l.StateDir, "models"))
	defer ours.Close()
	foreign := serve(t.TempDir())
	defer foreign.Close()
	for _, c := range []struct {
		srv  *httptest.Server
		want bool
	}{{ours, true}, {foreign, false}} {
		got, err := p.Owns(context.Background(), Server{Launch: l, BaseURL: c.srv.URL, HTTP: c.srv.Client()})
		if err != nil || got != c.want {
			t.Errorf("Owns on %s = %v, %v; want %v", c.srv.URL, got, err, c.want)
		}
	}
	other := l
	other.Alias = "tether-def"
	if got, _ := p.Owns(context.Background(), Server{Launch: other, BaseURL: ours.URL, HTTP: ours.Client()}); got {
		t.Error("another launch's alias passed for ours")
	}
}

func TestOllamaTemplateForKnownFamilies(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		template string
		want     string
	}{{testmodel.Template(t, "qwen25"), ollamaQwen25}, {testmodel.Template(t, "qwen3"), ollamaQwen3},
		{testmodel.Template(t, "llama3"), ollamaLlama3}, {testmodel.ChatML, ""}, {testmodel.Template(t, "qwq"), ""}} {
		path := filepath.Join(dir, "m.gguf")
		if err := testmodel.WriteFile(path, testmodel.Spec{Template: c.template}); err != nil {
			t.Fatal(err)
		}
		family, tmpl, ok := ollamaTemplateFor(path)
		if ok != (c.want != "") || tmpl != c.want {
			t.Errorf("family %q: template found %v, want %v", family, ok, c.want != "")
		}
	}
	if _, _, ok := ollamaTemplateFor(filepath.Join(dir, "missing.gguf")); ok {
		t.Error("a missing file has a template")
	}
}

func TestOllamaParameters(t *testing.T) {
	p := ollamaParameters(Launch{ContextSize: 2048, Threads: 3})
	if p["num_ctx"] != 2048 || p["num_gpu"] != 0 || p["num_thread"] != 3 {
		t.Fatalf("parameters %v", p)
	}
	if p := ollamaParameters(Launch{GPU: true}); len(p) != 0 {
		t.Fatalf("parameters %v, want ollama's defaults", p)
	}
}

func FuzzOllamaNumCtx(f *testing.F) {
	for _, seed := range []string{
		"stop                           \"<|im_end|>\"\nnum_ctx                        2048",
		"num_ctx 0", "num_ctx -5", "num_ctx x", "num_ctx 1 2", "", "\n\n", "num_ctx\t99999999999999999999",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, params string) {
		n, ok := ollamaNumCtx(params)
		if ok != (n > 0) {
			t.Fatalf("%q: %d %v", params, n, ok)
		}
		if ok && !strings.Contains(params, strconv.Itoa(n)) {
			t.Fatalf("%q: %d is not in it", params, n)
		}
	})
}

func TestOllamaWarnsOfItsBareTemplate(t *testing.T) {
	for _, c := range []struct {
		template string
		warn     bool
	}{{"{{ .Prompt }}", true}, {"{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n", false}} {
		srv := httptest.NewServer(&fakeOllama{template: c.template})
		var logs strings.Builder
		s := Server{Launch: Launch{Model: "/m/x.gguf", Alias: "tether-abc"}, BaseURL: srv.URL, HTTP: srv.Client(),
			Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		mode, err := Ollama().Tools(context.Background(), s)
		srv.Close()
		if err != nil || mode != openai.ToolsText {
			t.Fatalf("tools %v %v", mode, err)
		}
		if warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "x.gguf"); warned != c.warn {
			t.Errorf("template %q: warned %v, want %v: %s", c.template, warned, c.warn, logs.String())
		}
	}
}

func TestGPULayers(t *testing.T) {
	l := Launch{Model: "m.gguf", Host: "127.0.0.1", Port: 1, GPU: true, GPULayers: 20}
	args, _ := LlamaServer().Args(l)
	if i := slices.Index(args, "-ngl"); i < 0 || args[i+1] != "20" {
		t.Fatalf("args %q", args)
	}
	l.GPULayers = 0
	args, _ = LlamaServer().Args(l)
	if i := slices.Index(args, "-ngl"); i < 0 || args[i+1] != "999" {
		t.Fatalf("all layers: args %q", args)
	}
}

func TestVLLMParallelism(t *testing.T) {
	l := Launch{Model: "/models/q", Host: "127.0.0.1", Port: 1, APIKey: "k", TensorParallel: 4, PipelineParallel: 2, RayAddress: "10.0.0.5:6379"}
	p := VLLM()
	args, _ := p.Args(l)
	want := []string{"--tensor-parallel-size", "4", "--pipeline-parallel-size", "2", "--distributed-executor-backend", "ray"}
	for i := 0; i < len(want); i += 2 {
		j := slices.Index(args, want[i])
		if j < 0 || args[j+1] != want[i+1] {
			t.Fatalf("args %q lack %s %s", args, want[i], want[i+1])
		}
	}
	if env := p.Env(l); !slices.Contains(env, "RAY_ADDRESS=10.0.0.5:6379") || !slices.Contains(env, "VLLM_API_KEY=k") {
		t.Fatalf("env %q", env)
	}
	single, _ := p.Args(Launch{Model: "/models/q", Host: "127.0.0.1", Port: 1})
	if slices.Contains(single, "--tensor-parallel-size") || slices.Contains(single, "--distributed-executor-backend") || len(p.Env(Launch{})) != 0 {
		t.Fatalf("single-GPU args %q", single)
	}
}
