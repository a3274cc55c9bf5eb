package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine"
)

var (
	modelsMu  sync.Mutex
	modelDir  string
	modelPath = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tether-serve-test-")
	if err != nil {
		panic(err)
	}
	modelDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedModel writes the tiny model with the named template once per
// test binary and returns its path.
func sharedModel(t testing.TB, template string) string {
	t.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if p, ok := modelPath[template]; ok {
		return p
	}
	src := writeModel(t, template)
	dst := filepath.Join(modelDir, filepath.Base(src))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	modelPath[template] = dst
	return dst
}

// testServer is a server on a loopback port, serving until the test ends.
type testServer struct {
	*Server
	url    string
	cancel context.CancelFunc
	served chan error
}

// startServer starts a server for cfg (the chatml model by default) and,
// unless cfg says otherwise through noLoad, loads its model.
func startServer(t *testing.T, cfg Config, noLoad ...bool) *testServer {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = sharedModel(t, "chatml")
	}
	if cfg.Engine.Threads == 0 {
		cfg.Engine.Threads = 2
	}
	if cfg.Engine.ContextLength == 0 {
		cfg.Engine.ContextLength = 512
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, url: URL(ln), cancel: cancel, served: make(chan error, 1)}
	go func() { ts.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		ts.stop(t)
		srv.Close()
	})
	if len(noLoad) == 0 || !noLoad[0] {
		if err := srv.Load(); err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
	return ts
}

// stop shuts the server down and waits for Serve to return.
func (ts *testServer) stop(t *testing.T) error {
	t.Helper()
	ts.cancel()
	select {
	case err, ok := <-ts.served:
		if ok {
			close(ts.served)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
	}
	return nil
}

// answer is an HTTP answer read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return v
}

// errorObject checks that the answer is an error in OpenAI's shape and
// returns its object.
func (a answer) errorObject(t *testing.T) map[string]any {
	t.Helper()
	obj, ok := a.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer %d has no error object: %s", a.status, a.body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("error object lacks %q: %s", k, a.body)
		}
	}
	if msg, _ := obj["message"].(string); msg == "" {
		t.Errorf("error object has no message: %s", a.body)
	}
	if code, _ := obj["code"].(string); code == "" {
		t.Errorf("error code %#v is not a string: %s", obj["code"], a.body)
	}
	return obj
}

// call sends a request with an optional JSON body and bearer key.
func (ts *testServer) call(t *testing.T, method, path string, body any, key string) answer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// sseLines opens a streamed request and returns its lines as they come.
func (ts *testServer) sseLines(t *testing.T, ctx context.Context, path string, body any, key string) (<-chan string, *http.Response) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, resp
}

// metric reads one sample from /metrics; -1 if it is not there.
func (ts *testServer) metric(t *testing.T, key, sample string) float64 {
	t.Helper()
	a := ts.call(t, http.MethodGet, "/metrics", nil, key)
	if a.status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", a.status, a.body)
	}
	for line := range strings.SplitSeq(string(a.body), "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && name == sample {
			var v float64
			if err := json.Unmarshal([]byte(value), &v); err != nil {
				t.Fatalf("metric %s: %q", sample, value)
			}
			return v
		}
	}
	return -1
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func chatBody(extra map[string]any) map[string]any {
	b := map[string]any{
		"messages":    []any{map[string]any{"role": "user", "content": "hello there, tell me the weather"}},
		"max_tokens":  8,
		"temperature": 0,
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// engineIdle reports whether no generation holds or waits for a slot.
func (ts *testServer) engineIdle() bool {
	m := ts.model.Load()
	if m == nil {
		return true
	}
	st := m.eng.Stats()
	return st.Active == 0 && st.Queued == 0
}

func enginePar(n int) engine.Options { return engine.Options{Parallel: n} }

func engineCtx(n int) engine.Options { return engine.Options{ContextLength: n} }
