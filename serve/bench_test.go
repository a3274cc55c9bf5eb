//go:build unix

package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
)

// benchModel writes (once, then reuses) a synthetic model of a named
// shape under $TETHER_BENCH_DIR (default: the temporary directory's
// tether-bench), since a real shape takes a while to write.
func benchModel(b *testing.B, shape, arch string, typ quant.Type) string {
	b.Helper()
	dir := os.Getenv("TETHER_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tether-bench")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, shape+"-"+strings.ToLower(typ.String())+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	s, err := synth.NamedShape(shape, arch)
	if err != nil {
		b.Fatal(err)
	}
	m, err := synth.New(synth.Options{Shape: s, Type: typ, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := m.WriteTo(w); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkLaunchToReady starts `tether serve run` on a qwen2.5-0.5b-shaped
// Q8_0 file and measures the time from launch to the first 200 from
// /health, to the ready line, and (from the server's log) the model load
// alone. After the first run the file is in the page cache.
func BenchmarkLaunchToReady(b *testing.B) {
	if testing.Short() {
		b.Skip("writes a 0.5B-parameter model")
	}
	model := benchModel(b, "qwen2.5-0.5b", synth.ArchQwen2, quant.Q8_0)
	bin := testbin.Build(b, "github.com/tetherllm/tether/cmd/tether")
	type line struct {
		text string
		at   time.Time
	}
	var toListen, toHealth, toReady time.Duration
	var loadMS float64
	for b.Loop() {
		start := time.Now()
		cmd := exec.Command(bin, "serve", "run", model, "--port", "0", "--ctx", "4096")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		lines := make(chan line, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- line{sc.Text(), time.Now()}
			}
		}()
		next := func(prefix string) line {
			for l := range lines {
				if strings.HasPrefix(l.text, prefix) || strings.Contains(l.text, prefix) {
					return l
				}
			}
			b.Fatalf("no line %q", prefix)
			return line{}
		}
		l := next("tether serve: listening on ")
		toListen += l.at.Sub(start)
		url, _, _ := strings.Cut(strings.TrimPrefix(l.text, "tether serve: listening on "), ";")
		for {
			resp, err := http.Get(url + "/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					toHealth += time.Since(start)
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		loaded := next("model loaded")
		if _, ms, ok := strings.Cut(loaded.text, " ms="); ok {
			v, _ := strconv.ParseFloat(strings.Fields(ms)[0], 64)
			loadMS += v
		}
		toReady += next("tether serve: ready").at.Sub(start)
		cmd.Process.Signal(os.Interrupt)
		for range lines {
		}
		cmd.Wait()
	}
	n := float64(b.N)
	b.ReportMetric(float64(toListen.Microseconds())/1000/n, "ms-to-listen")
	b.ReportMetric(loadMS/n, "ms-load")
	b.ReportMetric(float64(toHealth.Microseconds())/1000/n, "ms-to-health-200")
	b.ReportMetric(float64(toReady.Microseconds())/1000/n, "ms-to-ready")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOverheadPerToken generates the same greedy 64 tokens from the
// same prompt four ways, side by side: the engine called directly, the
// embedded driver (chat template, parsers, events), and tether serve over
// loopback HTTP, streamed (SSE) and at once. The difference per token is
// what the server adds.
func BenchmarkOverheadPerToken(b *testing.B) {
	for _, m := range []struct {
		name  string
		shape string
		arch  string
	}{{"tiny", "tiny", synth.ArchQwen2}, {"qwen2.5-0.5b-q8_0", "qwen2.5-0.5b", synth.ArchQwen2}} {
		b.Run(m.name, func(b *testing.B) {
			if m.shape != "tiny" && testing.Short() {
				b.Skip("writes a 0.5B-parameter model")
			}
			benchOverhead(b, benchModel(b, m.shape, m.arch, quant.Q8_0))
		})
	}
}

func benchOverhead(b *testing.B, model string) {
	const tokens = 64
	srv, err := New(Config{Model: model, Engine: engine.Options{ContextLength: 1024}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Load(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()
	url := URL(ln)
	m := srv.model.Load()

	messages := []llm.Message{llm.UserMessage("Write a short poem about the sea.")}
	call := embedded.Call{Request: llm.Request{Messages: messages, MaxTokens: tokens, Temperature: llm.Ptr(0.0)}, IgnoreEOS: true}
	turn, err := m.drv.Prepare(call)
	if err != nil {
		b.Fatal(err)
	}
	prompt := turn.Tokens()
	body, _ := json.Marshal(map[string]any{
		"messages":   []any{map[string]any{"role": "user", "content": "Write a short poem about the sea."}},
		"max_tokens": tokens, "temperature": 0, "ignore_eos": true,
	})
	streamBody, _ := json.Marshal(map[string]any{
		"messages":   []any{map[string]any{"role": "user", "content": "Write a short poem about the sea."}},
		"max_tokens": tokens, "temperature": 0, "ignore_eos": true, "stream": true,
	})
	perToken := func(b *testing.B, run func()) {
		run() // warm the slot's prompt cache, as every later run reuses it
		start := time.Now()
		for b.Loop() {
			run()
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*tokens), "ns/token")
	}
	b.Run("engine", func(b *testing.B) {
		perToken(b, func() {
			r, err := m.eng.Complete(context.Background(), engine.Request{Tokens: prompt, MaxTokens: tokens, IgnoreEOG: true})
			if err != nil || r.Summary.Timings.GeneratedTokens != tokens {
				b.Fatalf("engine: %v %+v", err, r.Summary)
			}
		})
	})
	b.Run("driver", func(b *testing.B) {
		perToken(b, func() {
			r, err := llm.CompleteFromStream(m.drv.StreamCall(context.Background(), call))
			if err != nil || r.Usage.OutputTokens != tokens {
				b.Fatalf("driver: %v %v", err, r)
			}
		})
	})
	b.Run("http-stream", func(b *testing.B) {
		perToken(b, func() {
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(streamBody))
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			done := false
			for sc.Scan() {
				done = done || sc.Text() == "data: [DONE]"
			}
			resp.Body.Close()
			if !done {
				b.Fatal("stream did not finish")
			}
		})
	})
	b.Run("http", func(b *testing.B) {
		perToken(b, func() {
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Usage struct {
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil || out.Usage.CompletionTokens != tokens {
				b.Fatalf("http: %v %+v", err, out)
			}
		})
	})
}

// BenchmarkStreamChunk is the server's own work per streamed token: build
// a content chunk, encode it and frame it as an event (the write goes to
// a recorder, not a socket).
func BenchmarkStreamChunk(b *testing.B) {
	srv, err := New(Config{Model: "m.gguf"})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a := &chatAnswer{generationLog: generationLog{s: srv, sw: &statusWriter{ResponseWriter: rec}}, id: newID("chatcmpl-"), created: time.Now().Unix()}
	sse := startSSE(a.sw)
	for b.Loop() {
		rec.Body.Reset()
		sse.data(a.chunk(0, &oaiwire.Delta{Content: oaiwire.Ptr(" token")}, nil))
	}
}

// BenchmarkDecodeChatRequest is the cost of reading a long conversation
// (200 messages, about 1 MB): decoding alone, the field check alone, and
// both, as a request is read.
func BenchmarkDecodeChatRequest(b *testing.B) {
	msgs := make([]any, 200)
	for i := range msgs {
		msgs[i] = map[string]any{"role": "user", "content": strings.Repeat("tell me the weather ", 250)}
	}
	body, err := json.Marshal(map[string]any{"model": "m", "messages": msgs, "temperature": 0.2, "max_tokens": 100, "user": "u"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req chatRequest
			if e := decodeJSON(body, &req); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("fields", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if e := checkFields(body, chatFields); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("decode+fields", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req chatRequest
			if e := decodeRequest(body, &req, chatFields); e != nil {
				b.Fatal(e)
			}
		}
	})
}
