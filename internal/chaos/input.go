package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/testmodel"
)

func init() {
	register(Suite{
		Order: 50,
		Group: "Bad input",
		About: "Hostile input as a new user or a local client could give it: corrupted and crafted GGUF files through `tether model inspect`, " +
			"`tether serve run` and `tether run`; chat templates in the model file that recurse, allocate or loop without end; " +
			"hostile HTTP requests against a running `tether serve`; bad flags and environment values. " +
			"Each must end in a clear one-line error with its documented exit status (0 ok, 2 bad usage, 3 bad model or input file) " +
			"or HTTP status, never a crash trace, within the stated time and peak memory (peak RSS of the process, from /proc VmHWM and rusage).",
		Run: runBadInput,
	})
}

// Exit statuses of the tether command (internal/cli/exit.go).
const (
	exitOK    = 0
	exitUsage = 2
	exitModel = 3
)

func runBadInput(ctx context.Context, e *Env) ([]Row, error) {
	tether, err := e.Tether(ctx)
	if err != nil {
		return nil, err
	}
	model, err := e.Model(testmodel.Spec{Name: "chaos-input", Seed: 8, Context: 512})
	if err != nil {
		return nil, err
	}
	var rows []Row
	add := func(r ...Row) { rows = append(rows, r...) }
	mutated, err := mutatedModelRows(ctx, e, tether, model)
	if err != nil {
		return rows, err
	}
	add(mutated...)
	if ctx.Err() == nil {
		crafted, err := craftedModelRows(ctx, e, tether, model)
		if err != nil {
			return rows, err
		}
		add(crafted...)
	}
	if ctx.Err() == nil {
		r, err := hostileTemplateRow(ctx, e, tether)
		if err != nil {
			return rows, err
		}
		add(r)
	}
	if ctx.Err() == nil {
		r, err := hostileRequestRows(ctx, e, tether, model)
		if err != nil {
			return rows, err
		}
		add(r...)
	}
	if ctx.Err() == nil {
		add(badFlagRow(ctx, e, tether, model))
	}
	return rows, nil
}

// Bounds of one trial with a tiny model.
const (
	quickBound     = 10 * time.Second // a refusal, an inspection
	loadBound      = 30 * time.Second // a load that succeeds or fails
	smallPeakBound = 256 << 20        // a tiny model's process
)

// serveOnce runs `tether serve run FILE --port 0 ARGS…`: a file that loads
// is served until ready and then stopped with SIGTERM (exit 0), one that
// does not ends the process by itself (exit 3).
func serveOnce(ctx context.Context, tether, file string, timeout time.Duration, args ...string) measured {
	cmd := exec.Command(tether, append([]string{"serve", "run", file, "--port", "0", "--threads", "1"}, args...)...)
	out := &stopWhenReady{cmd: cmd, buf: newLockedBuffer()}
	cmd.Stderr = out
	cmd.Stdout = out
	m := measure(ctx, timeout, cmd)
	m.Stderr = out.buf.String()
	return m
}

// stopWhenReady collects a server's output and sends it SIGTERM when it
// says it is ready.
type stopWhenReady struct {
	cmd     *exec.Cmd
	buf     *lockedBuffer
	stopped bool
}

func (w *stopWhenReady) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if !w.stopped && readyRe.MatchString(w.buf.String()) {
		w.stopped = true
		w.cmd.Process.Signal(syscall.SIGTERM)
	}
	return n, err
}

// runOnce runs `tether run --backend tether -q --model FILE … hi`.
func runOnce(ctx context.Context, tether, file string, timeout time.Duration, env []string, args ...string) measured {
	argv := append([]string{"run", "--backend", "tether", "-q", "--max-tokens", "2", "--model", file}, args...)
	cmd := exec.Command(tether, append(argv, "hi")...)
	cmd.Env = append(os.Environ(), env...)
	return measure(ctx, timeout, cmd)
}

// inspectOnce runs `tether model inspect [--json] FILE`.
func inspectOnce(ctx context.Context, tether, file string, jsonOut bool) measured {
	args := []string{"model", "inspect", file}
	if jsonOut {
		args = []string{"model", "inspect", "--json", file}
	}
	return measure(ctx, quickBound+5*time.Second, exec.Command(tether, args...))
}

// mutatedModelRows corrupts the tiny model at random — bytes flipped,
// the file cut short, header counts, lengths, dimensions, types and
// offsets set to extreme values — and runs each file through `tether
// model inspect` and `tether serve run`.
func mutatedModelRows(ctx context.Context, e *Env, tether, model string) ([]Row, error) {
	base, err := os.ReadFile(model)
	if err != nil {
		return nil, err
	}
	fields, headerEnd := ggufFields(base)
	if len(fields) < 10 || headerEnd <= 0 {
		return nil, fmt.Errorf("walking the GGUF header of %s: %d fields, header end %d", model, len(fields), headerEnd)
	}
	dir, err := e.TempDir("mutated-")
	if err != nil {
		return nil, err
	}
	inspect := Row{Name: "mutated GGUF files through `tether model inspect`"}
	serveRow := Row{Name: "mutated GGUF files loaded by `tether serve run`"}
	runRow := Row{Name: "mutated GGUF files through `tether run --backend tether`"}
	var fi, fs, fr figures
	runExits := map[int]int{}
	refused, loaded, mismatched := 0, 0, 0
	n := e.Trials(400, 30)
	serveEvery := 2 // a load costs more than an inspection
	began := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		data, how := mutateGGUF(e.Rand, base, fields, headerEnd)
		path := filepath.Join(dir, fmt.Sprintf("m%d.gguf", i%8))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
		m := inspectOnce(ctx, tether, path, i%2 == 1)
		fi.add(m)
		err := clearError(m, []int{exitOK, exitModel}, "")
		if err == nil {
			err = within(m, quickBound, smallPeakBound)
		}
		if err == nil && m.Code == exitOK && i%2 == 1 && !json.Valid([]byte(m.Stdout)) {
			err = fmt.Errorf("--json printed invalid JSON: %.200s", m.Stdout)
		}
		if err == nil && m.Code == exitModel && strings.Count(strings.TrimSpace(m.Stderr), "\n") > 0 {
			err = fmt.Errorf("a refusal of more than one line: %q", firstLines(m.Stderr, 3))
		}
		if err != nil {
			err = fmt.Errorf("%s: inspect: %w", how, err)
		}
		inspect.Check(err)

		if i%serveEvery != 0 {
			continue
		}
		inspected := m
		m = serveOnce(ctx, tether, path, loadBound+5*time.Second)
		fs.add(m)
		err = clearError(m, []int{exitOK, exitModel}, "")
		if err == nil && m.Code == exitModel && inspected.Code == exitOK && !strings.Contains(inspected.Stdout, "problem") {
			// inspect runs serve's checks: a file serve refuses is one
			// inspect reports a problem with.
			err = fmt.Errorf("serve refused the file (%s) but inspect reports no problem", lastLine(m.Stderr))
			mismatched++
		}
		if err == nil {
			err = within(m, loadBound, smallPeakBound)
		}
		if m.Code == exitModel {
			refused++
		} else if m.Code == exitOK {
			loaded++
		}
		if err != nil {
			err = fmt.Errorf("%s: serve: %w", how, err)
		}
		serveRow.Check(err)

		if i%10 != 0 {
			continue
		}
		m = runOnce(ctx, tether, path, loadBound+5*time.Second, nil)
		fr.add(m)
		runExits[m.Code]++
		err = clearError(m, []int{exitOK, exitModel}, "")
		if err == nil {
			err = within(m, loadBound, smallPeakBound)
		}
		if err != nil {
			err = fmt.Errorf("%s: run: %w", how, err)
		}
		runRow.Check(err)
	}
	inspect.Bound = fmt.Sprintf("exit 0 (a report, valid JSON with --json) or 3 with one line, no crash trace; each within %s (slowest %s), peak RSS ≤ %s (largest %s)",
		quickBound, fi.Elapsed.Round(time.Millisecond), sizeMiB(smallPeakBound), sizeMiB(fi.Peak))
	serveRow.Bound = fmt.Sprintf("exit 3 with a one-line error (%d files) or ready and a clean stop on SIGTERM (%d files), no crash trace; inspect reports a problem with every file serve refuses (%d not); each within %s (slowest %s), peak RSS ≤ %s (largest %s)",
		refused, loaded, mismatched, loadBound, fs.Elapsed.Round(time.Millisecond), sizeMiB(smallPeakBound), sizeMiB(fs.Peak))
	runRow.Bound = fmt.Sprintf("exit 0 with an answer (%d files) or 3 with the server's refusal (%d files), never 4 or 5, no crash trace; each within %s (slowest %s), peak RSS of tether run ≤ %s (largest %s)",
		runExits[exitOK], runExits[exitModel], loadBound, fr.Elapsed.Round(time.Millisecond), sizeMiB(smallPeakBound), sizeMiB(fr.Peak))
	elapsed := time.Since(began)
	inspect.Elapsed, serveRow.Elapsed, runRow.Elapsed = elapsed/3, elapsed/3, elapsed/3
	return []Row{inspect, serveRow, runRow}, nil
}

// craftedModel is a well-formed GGUF file with one hostile property.
type craftedModel struct {
	name string
	// keys are set over the tiny model's metadata.
	keys map[string]any
	// truncate cuts this many bytes off the end, so that tensor offsets
	// point past the end of the file.
	truncate int
	// want is a word the refusal must contain.
	want string
}

var craftedModels = []craftedModel{
	{name: "block_count 2^31−1", keys: map[string]any{"qwen2.block_count": uint32(math.MaxInt32)}, want: "block_count"},
	{name: "block_count 1e8", keys: map[string]any{"qwen2.block_count": uint32(1e8)}, want: "block_count"},
	{name: "embedding_length 2^31−1", keys: map[string]any{"qwen2.embedding_length": uint32(math.MaxInt32)}, want: "token_embd"},
	{name: "head_count 2^31−1", keys: map[string]any{"qwen2.attention.head_count": uint32(math.MaxInt32)}, want: "head"},
	{name: "head_count_kv 0", keys: map[string]any{"qwen2.attention.head_count_kv": uint32(0)}, want: "head_count_kv"},
	{name: "feed_forward_length 2^30", keys: map[string]any{"qwen2.feed_forward_length": uint32(1 << 30)}, want: "ffn_gate"},
	{name: "tensor data past the end of the file", truncate: 4096, want: "past the end"},
}

// rewriteModel copies the GGUF file src to dst with keys set over its
// metadata.
func rewriteModel(src, dst string, keys map[string]any) error {
	f, err := gguf.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KVs() {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	for k, v := range keys {
		if err := w.Set(k, v); err != nil {
			return err
		}
	}
	for _, ti := range f.Tensors() {
		t, err := f.Tensor(ti.Name)
		if err != nil {
			return err
		}
		if err := w.AddTensor(ti.Name, ti.Type, ti.Shape, t.Data); err != nil {
			return err
		}
	}
	return w.WriteFile(dst)
}

// craftedModelRows runs the classes of hostile header an adversarial
// probe found through inspect, serve and run, and a FIFO as the model
// path, and a NaN metadata value through `model inspect --json`.
func craftedModelRows(ctx context.Context, e *Env, tether, model string) ([]Row, error) {
	dir, err := e.TempDir("crafted-")
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, c := range craftedModels {
		if ctx.Err() != nil {
			break
		}
		path := filepath.Join(dir, "crafted.gguf")
		if err := rewriteModel(model, path, c.keys); err != nil {
			return rows, fmt.Errorf("writing %s: %w", c.name, err)
		}
		if c.truncate > 0 {
			st, err := os.Stat(path)
			if err != nil {
				return rows, err
			}
			if err := os.Truncate(path, st.Size()-int64(c.truncate)); err != nil {
				return rows, err
			}
		}
		rows = append(rows, craftedRow(ctx, tether, "GGUF header "+c.name, path, c.want))
	}

	// A FIFO nobody writes to: opening it for reading blocks forever.
	fifo := filepath.Join(dir, "fifo.gguf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return rows, err
	}
	rows = append(rows, craftedRow(ctx, tether, "a FIFO as the model file", fifo, "regular"))

	// NaN and infinite metadata through inspect --json.
	r := Row{Name: "NaN and ±Inf metadata values through `tether model inspect --json`"}
	began := time.Now()
	var fig figures
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		path := filepath.Join(dir, "nan.gguf")
		if err := rewriteModel(model, path, map[string]any{"qwen2.rope.freq_base": v}); err != nil {
			return rows, err
		}
		m := inspectOnce(ctx, tether, path, true)
		fig.add(m)
		err := clearError(m, []int{exitOK}, "")
		if err == nil {
			err = within(m, quickBound, smallPeakBound)
		}
		var report struct {
			Problems []string `json:"problems"`
		}
		if err == nil {
			if jerr := json.Unmarshal([]byte(m.Stdout), &report); jerr != nil {
				err = fmt.Errorf("%v: invalid JSON (%v): %.200s", v, jerr, m.Stdout)
			} else if len(report.Problems) == 0 {
				err = fmt.Errorf("%v: no problem reported for a file serve refuses", v)
			}
		}
		r.Check(err)
		m = serveOnce(ctx, tether, path, loadBound)
		fig.add(m)
		r.Check(clearError(m, []int{exitModel}, "rope.freq_base"))
	}
	r.Bound = fmt.Sprintf("valid JSON that names the problem, and serve exits 3; slowest %s, peak RSS %s", fig.Elapsed.Round(time.Millisecond), sizeMiB(fig.Peak))
	r.Elapsed = time.Since(began)
	rows = append(rows, r)
	return rows, nil
}

// craftedRow runs one hostile file through inspect (a report that names
// the problem, or exit 3), serve (exit 3) and run (exit 3).
func craftedRow(ctx context.Context, tether, name, path, want string) Row {
	r := Row{Name: name}
	began := time.Now()
	var fig figures

	m := inspectOnce(ctx, tether, path, false)
	fig.add(m)
	err := clearError(m, []int{exitOK, exitModel}, want)
	if err == nil && m.Code == exitOK && !strings.Contains(m.Stdout, "problem") {
		err = fmt.Errorf("inspect reports no problem with a file serve refuses:\n%s", m.Stdout)
	}
	if err == nil {
		err = within(m, quickBound, smallPeakBound)
	}
	r.Check(wrap("inspect", err))

	m = serveOnce(ctx, tether, path, loadBound)
	fig.add(m)
	err = clearError(m, []int{exitModel}, want)
	if err == nil {
		err = within(m, quickBound, smallPeakBound)
	}
	r.Check(wrap("serve", err))

	m = runOnce(ctx, tether, path, loadBound, nil)
	fig.add(m)
	err = clearError(m, []int{exitModel}, want)
	if err == nil {
		err = within(m, quickBound, smallPeakBound)
	}
	r.Check(wrap("run", err))

	r.Bound = fmt.Sprintf("inspect names the problem, serve and run exit 3 with one line about %q; each within %s (slowest %s), peak RSS ≤ %s (largest %s)",
		want, quickBound, fig.Elapsed.Round(time.Millisecond), sizeMiB(smallPeakBound), sizeMiB(fig.Peak))
	r.Elapsed = time.Since(began)
	return r
}

// wrap prefixes a trial's error with what was run.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// hostileTemplates are chat templates that recurse, allocate or loop
// without end, in the shapes that crashed or hung the loader.
var hostileTemplates = map[string]string{
	"recursion through an endmacro comment": `{% macro f() %}{# endmacro #}{{ f() }}{% endmacro %}{{ f() }}`,
	"recursion through an argument":         `{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}`,
	"recursion through an alias":            `{% macro m() %}{{ a() }}{% endmacro %}{% set a = m %}{{ m() }}`,
	"mutual recursion":                      `{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}`,
	"recursion through caller":              `{% macro m() %}{% call m() %}{{ caller() }}{% endcall %}{% endmacro %}{{ m() }}`,
	"'a' * 2000000000":                      `{% set s = 'a' * 2000000000 %}{{ s }}`,
	"doubling a string 40 times":            `{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}`,
	"nested range(65536) loops":             `{% for i in range(65536) %}{% for j in range(65536) %}{% endfor %}{% endfor %}`,
	"nested range(65536) loops printing":    `{% for i in range(65536) %}{% for j in range(65536) %}{{ j }}{% endfor %}{% endfor %}`,
	"100000 nested ifs":                     strings.Repeat("{% if true %}", 100000) + "x" + strings.Repeat("{% endif %}", 100000),
	"100000 nested parentheses":             "{{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}",
}

// hostileTemplateRow puts each hostile template into the tiny model.
// tether serve loads such a model, warns in one line that the template
// cannot be used, answers chat requests with a model file error (500,
// code model_file_error) and still serves text completions; tether run,
// which needs the template, exits 3.
func hostileTemplateRow(ctx context.Context, e *Env, tether string) (Row, error) {
	r := Row{Name: "hostile chat templates in the model file (recursion through comment, argument, alias, caller; 'a' * 2e9; nested range(65536); deep nesting)"}
	began := time.Now()
	var fig figures
	var slowestChat time.Duration
	i := 0
	for _, name := range slices.Sorted(maps.Keys(hostileTemplates)) {
		if ctx.Err() != nil {
			break
		}
		i++
		path, err := e.Model(testmodel.Spec{Name: fmt.Sprintf("chaos-template-%d", i), Seed: 9, Template: hostileTemplates[name], Context: 512})
		if err != nil {
			return r, err
		}
		r.Check(wrap(name+": serve", templateServed(ctx, tether, path, &fig, &slowestChat)))
		if e.CI && i > 4 {
			continue
		}
		m := runOnce(ctx, tether, path, loadBound, nil)
		fig.add(m)
		err = clearError(m, []int{exitModel}, "chat template")
		if err == nil {
			err = within(m, quickBound, smallPeakBound*2)
		}
		r.Check(wrap(name+": run", err))
	}
	r.Bound = fmt.Sprintf("run: exit 3 with one line about the chat template; serve: ready with a one-line warning, chat answered 500 model_file_error (slowest %s), text completions 200; each within %s (slowest %s), peak RSS ≤ %s (largest %s)",
		slowestChat.Round(time.Millisecond), quickBound, fig.Elapsed.Round(time.Millisecond), sizeMiB(smallPeakBound*2), sizeMiB(fig.Peak))
	r.Elapsed = time.Since(began)
	return r, nil
}

// templateServed serves a model with a hostile template and checks the
// warning, a chat request's error and a text completion.
func templateServed(ctx context.Context, tether, path string, fig *figures, slowestChat *time.Duration) error {
	start := time.Now()
	srv, err := startServedTether(ctx, tether, path, nil, "--threads", "1", "--alias", "chaos")
	if err != nil {
		return err
	}
	defer srv.Stop()
	ready := time.Since(start)
	if !strings.Contains(lastLine(srv.Stderr.String()), "ready") {
		return fmt.Errorf("no ready line")
	}
	warning := lineWith(srv.Stderr.String(), "chat template cannot be used")
	switch {
	case warning == "":
		return fmt.Errorf("no warning about the template: %s", firstLines(srv.Stderr.String(), 4))
	case ready > quickBound:
		return fmt.Errorf("ready after %s, bound %s", ready.Round(time.Millisecond), quickBound)
	}
	for _, c := range []struct {
		path, body string
		want       int
		code       string
	}{
		{"/v1/chat/completions", normalChat("chaos"), 500, `"model_file_error"`},
		{"/v1/completions", `{"model":"chaos","prompt":"hi","max_tokens":2}`, 200, ""},
	} {
		rctx, cancel := context.WithTimeout(ctx, 2*quickBound)
		t0 := time.Now()
		status, body, _, err := post(rctx, srv.URL+c.path, strings.NewReader(c.body), nil)
		cancel()
		took := time.Since(t0)
		*slowestChat = max(*slowestChat, took)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %v", c.path, err)
		case status != c.want || !strings.Contains(body, c.code):
			return fmt.Errorf("%s: status %d, want %d %s: %.200s", c.path, status, c.want, c.code, body)
		case took > quickBound:
			return fmt.Errorf("%s: answered in %s, bound %s", c.path, took.Round(time.Millisecond), quickBound)
		}
	}
	fig.Elapsed = max(fig.Elapsed, ready)
	peak := peakRSS(srv.Pid())
	fig.Peak = max(fig.Peak, peak)
	if peak > smallPeakBound*2 {
		return fmt.Errorf("peak RSS %s, bound %s", sizeMiB(peak), sizeMiB(smallPeakBound*2))
	}
	return nil
}

// wordBody is a chat request whose user message is one word of n bytes,
// generated as it is read, so that the sender holds none of it.
type wordBody struct {
	head, tail string
	n, off     int64
}

func newWordBody(model string, n int64) *wordBody {
	return &wordBody{head: `{"model":"` + model + `","max_tokens":4,"messages":[{"role":"user","content":"`, tail: `"}]}`, n: n}
}

func (b *wordBody) Len() int64 { return int64(len(b.head)) + b.n + int64(len(b.tail)) }

func (b *wordBody) Read(p []byte) (int, error) {
	total := b.Len()
	if b.off >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && b.off < total {
		switch h := int64(len(b.head)); {
		case b.off < h:
			c := copy(p[n:], b.head[b.off:])
			n += c
			b.off += int64(c)
		case b.off < h+b.n:
			c := int(min(int64(len(p)-n), h+b.n-b.off))
			for i := range c {
				p[n+i] = 'a'
			}
			n += c
			b.off += int64(c)
		default:
			c := copy(p[n:], b.tail[b.off-h-b.n:])
			n += c
			b.off += int64(c)
		}
	}
	return n, nil
}

// hostileRequest is one request a hostile client sends, and the statuses
// that answer it correctly.
type hostileRequest struct {
	name string
	path string // default /v1/chat/completions
	body func(model string) io.Reader
	want []int
}

func jsonBody(s string) func(string) io.Reader {
	return func(model string) io.Reader { return strings.NewReader(strings.ReplaceAll(s, "MODEL", model)) }
}

var hostileRequests = []hostileRequest{
	{name: "64 MiB body (limit 32 MiB)", body: func(m string) io.Reader { return newWordBody(m, 64<<20) }, want: []int{413}},
	{name: "16 MiB single-word prompt", body: func(m string) io.Reader { return newWordBody(m, 16<<20) }, want: []int{400}},
	{name: "JSON nested 100000 deep", body: jsonBody(`{"model":"MODEL","messages":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`), want: []int{400}},
	{name: "JSON object nested 100000 deep in a tool schema", body: jsonBody(`{"model":"MODEL","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `}}]}`), want: []int{400}},
	{name: "invalid UTF-8 in the content", body: jsonBody("{\"model\":\"MODEL\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\xc3\x28 \xed\xa0\x80\"}]}"), want: []int{200, 400}},
	{name: "invalid UTF-8 outside strings", body: jsonBody("{\"model\":\"MODEL\",\xff\"messages\":[]}"), want: []int{400}},
	{name: "truncated JSON", body: jsonBody(`{"model":"MODEL","messages":[{"role":"user","content":"hi"`), want: []int{400}},
	{name: "empty body", body: jsonBody(``), want: []int{400}},
	{name: "max_tokens 1e18", body: jsonBody(`{"model":"MODEL","max_tokens":1000000000000000000,"messages":[{"role":"user","content":"hi"}]}`), want: []int{200, 400}},
	{name: "max_tokens 2^63", body: jsonBody(`{"model":"MODEL","max_tokens":9223372036854775808,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "n 1000000", body: jsonBody(`{"model":"MODEL","n":1000000,"max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "negative max_tokens", body: jsonBody(`{"model":"MODEL","max_tokens":-5,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "negative temperature", body: jsonBody(`{"model":"MODEL","temperature":-1,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "top_p 7", body: jsonBody(`{"model":"MODEL","top_p":7,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "temperature NaN (bare)", body: jsonBody(`{"model":"MODEL","temperature":NaN,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "temperature 1e999", body: jsonBody(`{"model":"MODEL","temperature":1e999,"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "temperature \"NaN\" (a string)", body: jsonBody(`{"model":"MODEL","temperature":"NaN","messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "messages as a string", body: jsonBody(`{"model":"MODEL","messages":"hi"}`), want: []int{400}},
	{name: "content as a number", body: jsonBody(`{"model":"MODEL","messages":[{"role":"user","content":5}]}`), want: []int{400}},
	{name: "unknown role", body: jsonBody(`{"model":"MODEL","messages":[{"role":"wizard","content":"hi"}]}`), want: []int{400}},
	{name: "no messages", body: jsonBody(`{"model":"MODEL","messages":[]}`), want: []int{400}},
	{name: "unknown model (--strict-model)", body: jsonBody(`{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`), want: []int{404}},
	{name: "bad grammar", body: jsonBody(`{"model":"MODEL","grammar":"root ::= (\"a\" | ","messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "bad JSON schema", body: jsonBody(`{"model":"MODEL","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":5}}},"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "JSON schema with a cyclic $ref", body: jsonBody(`{"model":"MODEL","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}}},"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "tool_choice naming no tool", body: jsonBody(`{"model":"MODEL","tool_choice":{"type":"function","function":{"name":"nope"}},"messages":[{"role":"user","content":"hi"}]}`), want: []int{400}},
	{name: "text completion with a 16 MiB prompt", path: "/v1/completions", body: func(m string) io.Reader {
		return io.MultiReader(strings.NewReader(`{"model":"`+m+`","max_tokens":2,"prompt":"`), io.LimitReader(repeatReader('b'), 16<<20), strings.NewReader(`"}`))
	}, want: []int{400}},
	{name: "tokenize 16 MiB", path: "/tokenize", body: func(m string) io.Reader {
		return io.MultiReader(strings.NewReader(`{"content":"`), io.LimitReader(repeatReader('c'), 16<<20), strings.NewReader(`"}`))
	}, want: []int{200, 400, 413}},
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// hostileRequestRows sends each hostile request to one `tether serve`
// and checks its status and that the server answers a normal request
// after it; then 40 clients send 30 MB bodies at once to a fresh server.
func hostileRequestRows(ctx context.Context, e *Env, tether, model string) ([]Row, error) {
	const alias = "chaos"
	srv, err := startServedTether(ctx, tether, model, nil, "--threads", "1", "--alias", alias, "--strict-model", "--parallel", "2")
	if err != nil {
		return nil, err
	}
	r := Row{Name: "hostile HTTP requests (oversized bodies, deep nesting, invalid UTF-8, absurd and NaN numbers, wrong types, unknown model, bad grammar and schema), each followed by a normal request"}
	began := time.Now()
	var slowest time.Duration
	slowestName := ""
	before := peakRSS(srv.Pid())
	for _, h := range hostileRequests {
		if ctx.Err() != nil {
			break
		}
		path := h.path
		if path == "" {
			path = "/v1/chat/completions"
		}
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		start := time.Now()
		status, body, _, err := post(rctx, srv.URL+path, h.body(alias), nil)
		cancel()
		took := time.Since(start)
		if took > slowest {
			slowest, slowestName = took, h.name
		}
		switch {
		case err != nil:
			err = fmt.Errorf("%s: %v", h.name, err)
		case !slices.Contains(h.want, status):
			err = fmt.Errorf("%s: status %d, want %v: %.200s", h.name, status, h.want, body)
		case status != 200 && !json.Valid([]byte(body)):
			err = fmt.Errorf("%s: status %d with an error body that is not JSON: %.200s", h.name, status, body)
		case took > quickBound:
			err = fmt.Errorf("%s: answered in %s, bound %s", h.name, took.Round(time.Millisecond), quickBound)
		default:
			err = wrap(h.name, answersNormally(ctx, srv, alias, nil))
		}
		r.Check(err)
	}
	peak := peakRSS(srv.Pid())
	const requestPeakBound = 1 << 30
	if peak > requestPeakBound {
		r.Fail("server peak RSS %s, bound %s", sizeMiB(peak), sizeMiB(requestPeakBound))
	}
	srv.Stop()
	r.Bound = fmt.Sprintf("the right 4xx status with a JSON error (413 over the body limit, 400 for the rest, 404 for an unknown model) within %s (slowest %s: %s), then a normal request answers 200; server peak RSS ≤ %s (%s after start-up, %s after all)",
		quickBound, slowest.Round(time.Millisecond), slowestName, sizeMiB(requestPeakBound), sizeMiB(before), sizeMiB(peak))
	r.Elapsed = time.Since(began)

	flood, err := concurrentBodiesRow(ctx, e, tether, model)
	if err != nil {
		return []Row{r}, err
	}
	return []Row{r, flood}, nil
}

// concurrentBodiesRow sends 40 single-word bodies of 30 MB at once, the
// load that once got the server killed by the kernel's OOM killer: every
// one is answered with a 4xx or 503 (busy) status, the server stays up
// with its peak memory under the bound, and answers normally after.
func concurrentBodiesRow(ctx context.Context, e *Env, tether, model string) (Row, error) {
	const alias = "chaos"
	clients := e.Trials(40, 12)
	const size = 30_000_000
	r := Row{Name: fmt.Sprintf("%d clients at once, each sending a 30 MB single-word prompt", clients)}
	began := time.Now()
	srv, err := startServedTether(ctx, tether, model, nil, "--threads", "1", "--alias", alias, "--parallel", "4")
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	before := currentRSS(srv.Pid())
	type answer struct {
		status int
		body   string
		err    error
	}
	answers := make(chan answer, clients)
	stopPoll := make(chan struct{})
	var peak int64
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-t.C:
				peak = max(peak, currentRSS(srv.Pid()))
			}
		}
	}()
	for range clients {
		go func() {
			rctx, cancel := context.WithTimeout(ctx, 120*time.Second)
			defer cancel()
			status, body, _, err := post(rctx, srv.URL+"/v1/chat/completions", newWordBody(alias, size), nil)
			answers <- answer{status, body, err}
		}()
	}
	counts := map[int]int{}
	for range clients {
		a := <-answers
		switch {
		case a.err != nil:
			r.Fail("%v", a.err)
		case a.status != 400 && a.status != 413 && a.status != 429 && a.status != 503:
			r.Fail("status %d: %.200s", a.status, a.body)
		}
		counts[a.status]++
		r.Trials++
	}
	close(stopPoll)
	<-polled
	hwm := peakRSS(srv.Pid())
	peak = max(peak, hwm)
	r.Check(answersNormally(ctx, srv, alias, nil))
	settle := time.Now()
	after := currentRSS(srv.Pid())
	for after > before+256<<20 && time.Since(settle) < 10*time.Second && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
		after = currentRSS(srv.Pid())
	}
	// Requests in flight are admitted by memory, up to a quarter of the
	// machine's by default, at 8 bytes a body byte.
	peakBound := memTotalBytes()/4 + 512<<20
	if peak > peakBound {
		r.Fail("server peak RSS %s, bound %s", sizeMiB(peak), sizeMiB(peakBound))
	}
	if after > before+256<<20 {
		r.Fail("server RSS %s 10 s after the flood, %s before", sizeMiB(after), sizeMiB(before))
	}
	var statuses []string
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		statuses = append(statuses, fmt.Sprintf("%d×%d", counts[s], s))
	}
	r.Bound = fmt.Sprintf("server stays up and answers normally after; statuses %s; server peak RSS %s (bound %s: the admission budget, a quarter of the machine's memory, + 512 MiB); RSS %s before, %s after (bound +256 MiB)",
		strings.Join(statuses, ", "), sizeMiB(peak), sizeMiB(peakBound), sizeMiB(before), sizeMiB(after))
	r.Elapsed = time.Since(began)
	return r, nil
}

// badInvocation is a command line or environment the tether command
// must refuse with a one-line message and its exit status.
type badInvocation struct {
	name string
	args []string // MODEL stands for the tiny model, LONGMODEL for one trained for 32768 tokens with a 16 KiB a token KV cache (512 GiB for 1024 slots)
	env  []string
	code int
	want string
	// logs says the server logs lines before the refusal, its last line.
	logs bool
}

var badInvocations = []badInvocation{
	{name: "unknown flag", args: []string{"run", "--no-such-flag", "hi"}, code: exitUsage, want: "unknown flag"},
	{name: "serve --port -1", args: []string{"serve", "run", "MODEL", "--port", "-1"}, code: exitUsage, want: "--port"},
	{name: "serve --port 70000", args: []string{"serve", "run", "MODEL", "--port", "70000"}, code: exitUsage, want: "--port"},
	{name: "serve --parallel 1025", args: []string{"serve", "run", "MODEL", "--parallel", "1025"}, code: exitUsage, want: "--parallel"},
	{name: "serve --parallel 0", args: []string{"serve", "run", "MODEL", "--parallel", "0"}, code: exitUsage, want: "--parallel"},
	{name: "serve --ctx -5", args: []string{"serve", "run", "MODEL", "--ctx", "-5"}, code: exitUsage, want: "--ctx"},
	{name: "serve --log-level loud", args: []string{"serve", "run", "MODEL", "--log-level", "loud"}, code: exitUsage, want: "--log-level"},
	{name: "serve --max-body-mb 0", args: []string{"serve", "run", "MODEL", "--max-body-mb", "0"}, code: exitUsage, want: "--max-body-mb"},
	{name: "serve --parallel 1024 --ctx 32768: a KV cache beyond the machine's memory", args: []string{"serve", "run", "LONGMODEL", "--port", "0", "--parallel", "1024", "--ctx", "32768"}, code: exitModel, want: "memory", logs: true},
	{name: "serve with two models", args: []string{"serve", "run", "MODEL", "MODEL"}, code: exitUsage, want: "one model"},
	{name: "serve a missing model file", args: []string{"serve", "run", "/nonexistent/model.gguf"}, code: exitModel, want: "no such file"},
	{name: "run --temperature NaN", args: []string{"run", "-q", "--model", "MODEL", "--temperature", "NaN", "hi"}, code: exitUsage, want: "temperature"},
	{name: "run --temperature -1", args: []string{"run", "-q", "--model", "MODEL", "--temperature", "-1", "hi"}, code: exitUsage, want: "temperature"},
	{name: "run --max-tokens -1", args: []string{"run", "-q", "--model", "MODEL", "--max-tokens", "-1", "hi"}, code: exitUsage, want: "max-tokens"},
	{name: "run --backend nosuch", args: []string{"run", "-q", "--model", "MODEL", "--backend", "nosuch", "hi"}, code: exitUsage, want: "nosuch"},
	{name: "run without a prompt", args: []string{"run", "-q", "--model", "MODEL"}, code: exitUsage, want: "prompt"},
	{name: "run --model and --endpoint", args: []string{"run", "-q", "--model", "MODEL", "--endpoint", "http://127.0.0.1:1", "hi"}, code: exitUsage, want: "--endpoint"},
	{name: "APR_AGENT_TEMPERATURE=NaN", args: []string{"run", "-q", "--backend", "tether", "--model", "MODEL", "hi"}, env: []string{"APR_AGENT_TEMPERATURE=NaN"}, code: exitUsage, want: "APR_AGENT_TEMPERATURE"},
	{name: "APR_AGENT_TOP_P=NaN", args: []string{"run", "-q", "--backend", "tether", "--model", "MODEL", "hi"}, env: []string{"APR_AGENT_TOP_P=NaN"}, code: exitUsage, want: "APR_AGENT_TOP_P"},
	{name: "APR_AGENT_HTTP_TIMEOUT_S=abc", args: []string{"run", "-q", "--backend", "tether", "--model", "MODEL", "hi"}, env: []string{"APR_AGENT_HTTP_TIMEOUT_S=abc"}, code: exitUsage, want: "APR_AGENT_HTTP_TIMEOUT_S"},
	{name: "APR_AGENT_HTTP_TIMEOUT_S=abc with --endpoint", args: []string{"run", "-q", "--endpoint", "http://127.0.0.1:1", "hi"}, env: []string{"APR_AGENT_HTTP_TIMEOUT_S=abc"}, code: exitUsage, want: "APR_AGENT_HTTP_TIMEOUT_S"},
	{name: "APR_SERVE_READY_TIMEOUT_S=abc", args: []string{"run", "-q", "--backend", "tether", "--model", "MODEL", "hi"}, env: []string{"APR_SERVE_READY_TIMEOUT_S=abc"}, code: exitUsage, want: "APR_SERVE_READY_TIMEOUT_S"},
	{name: "APR_AGENT_MAX_TOKENS_CAP=-3", args: []string{"run", "-q", "--backend", "tether", "--model", "MODEL", "hi"}, env: []string{"APR_AGENT_MAX_TOKENS_CAP=-3"}, code: exitUsage, want: "APR_AGENT_MAX_TOKENS_CAP"},
	{name: "run --messages /dev/zero", args: []string{"run", "-q", "--model", "MODEL", "--messages", "/dev/zero", "hi"}, code: exitModel, want: "--messages"},
	{name: "run --tools /dev/urandom", args: []string{"run", "-q", "--model", "MODEL", "--tools", "/dev/urandom", "hi"}, code: exitModel, want: "--tools"},
	{name: "run --messages that is not JSON", args: []string{"run", "-q", "--model", "MODEL", "--messages", "MODEL", "hi"}, code: exitModel, want: "--messages"},
	{name: "run a missing model file", args: []string{"run", "-q", "--backend", "tether", "--model", "/nonexistent/model.gguf", "hi"}, code: exitModel, want: "model.gguf"},
	{name: "model inspect a missing file", args: []string{"model", "inspect", "/nonexistent/model.gguf"}, code: exitModel, want: "model.gguf"},
	{name: "model inspect a directory", args: []string{"model", "inspect", "/"}, code: exitModel, want: "/"},
}

// badFlagRow runs each bad invocation.
func badFlagRow(ctx context.Context, e *Env, tether, model string) Row {
	r := Row{Name: "bad flags and environment values (unknown flag, --port -1, --parallel 1025, --parallel 1024 beyond memory, --temperature NaN, APR_AGENT_TEMPERATURE=NaN, APR_SERVE_READY_TIMEOUT_S=abc, --messages /dev/zero, missing model, …)"}
	began := time.Now()
	var fig figures
	for _, b := range badInvocations {
		if ctx.Err() != nil {
			break
		}
		args := slices.Clone(b.args)
		for i, a := range args {
			switch a {
			case "MODEL":
				args[i] = model
			case "LONGMODEL":
				long, err := e.Model(testmodel.Spec{Name: "chaos-long-context", Seed: 8, Context: 32768, Heads: 16, KVHeads: 16, HeadDim: 128})
				if err != nil {
					r.Check(err)
					continue
				}
				args[i] = long
			}
		}
		cmd := exec.Command(tether, args...)
		cmd.Env = append(os.Environ(), b.env...)
		m := measure(ctx, quickBound+5*time.Second, cmd)
		fig.add(m)
		err := clearError(m, []int{b.code}, b.want)
		if err == nil && !b.logs && strings.Count(strings.TrimSpace(m.Stderr), "\n") > 0 {
			err = fmt.Errorf("%d lines on stderr: %q", strings.Count(strings.TrimSpace(m.Stderr), "\n")+1, firstLines(m.Stderr, 4))
		}
		if err == nil {
			err = within(m, quickBound, smallPeakBound)
		}
		r.Check(wrap(b.name, err))
	}
	r.Bound = fmt.Sprintf("exit 2 (bad usage) or 3 (bad model or input file) with one line naming the flag, variable, file or memory need (tether run: before it launches a server); each within %s (slowest %s), peak RSS ≤ %s (largest %s)",
		quickBound, fig.Elapsed.Round(time.Millisecond), sizeMiB(smallPeakBound), sizeMiB(fig.Peak))
	r.Elapsed = time.Since(began)
	return r
}
