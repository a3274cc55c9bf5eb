package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// toolCallAnswer streams one assistant turn that calls name with args.
func toolCallAnswer(w http.ResponseWriter, id, name string, args any) {
	input, _ := json.Marshal(args)
	call, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{
		"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": id, "type": "function",
			"function": map[string]any{"name": name, "arguments": string(input)}}}}}}})
	sseAnswer(w, string(call), `{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`, "[DONE]")
}

// textAnswer streams one assistant turn that says text.
func textAnswer(w http.ResponseWriter, text string) {
	chunk, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": text}}}})
	sseAnswer(w, string(chunk), `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "[DONE]")
}

// toolMessages are the tool results a chat request sends back.
func toolMessages(body map[string]any) []string {
	var out []string
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		if m, _ := m.(map[string]any); m["role"] == "tool" {
			out = append(out, fmt.Sprint(m["content"]))
		}
	}
	return out
}

// TestCodeEditsTheWorkspace: a scripted model reads a file, tries one
// outside the workspace, edits the file and answers; the tools act on
// the workspace only, the results reach the model, and the session file
// keeps the whole conversation.
func TestCodeEditsTheWorkspace(t *testing.T) {
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "greeting.txt"), []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(filepath.Dir(ws), "secret.txt")
	if err := os.WriteFile(secret, []byte("the secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(secret) })

	var es *endpointServer
	es = newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		switch len(es.requests()) {
		case 1:
			toolCallAnswer(w, "call-1", "read_file", map[string]any{"path": "greeting.txt"})
		case 2:
			toolCallAnswer(w, "call-2", "read_file", map[string]any{"path": "../secret.txt"})
		case 3:
			toolCallAnswer(w, "call-3", "edit_file", map[string]any{"path": "greeting.txt", "old_text": "hello", "new_text": "goodbye"})
		default:
			textAnswer(w, "Changed it.")
		}
	})
	session := filepath.Join(t.TempDir(), "session.json")
	code, out, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", ws, "--session", session, "say goodbye instead")
	if code != ExitOK || strings.TrimSpace(out) != "Changed it." {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if data, _ := os.ReadFile(filepath.Join(ws, "greeting.txt")); string(data) != "goodbye, world\n" {
		t.Errorf("greeting.txt holds %q", data)
	}
	if !strings.Contains(errs, "tether: read_file") || !strings.Contains(errs, "tether: edit_file") {
		t.Errorf("stderr does not show the tool calls: %q", errs)
	}

	reqs := es.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d model calls, want 4", len(reqs))
	}
	results := toolMessages(reqs[3])
	if len(results) != 3 || !strings.Contains(results[0], "hello, world") || strings.Contains(results[1], "the secret") ||
		strings.Contains(strings.Join(results, "\n"), "the secret") {
		t.Fatalf("tool results sent back: %q", results)
	}
	if tools, _ := reqs[0]["tools"].([]any); len(tools) == 0 || strings.Contains(fmt.Sprint(tools), `shell`) {
		t.Errorf("tools offered: %v; want the file tools, no shell without --allow-shell", tools)
	}

	var history []llm.Message
	data, err := os.ReadFile(session)
	if err != nil || json.Unmarshal(data, &history) != nil {
		t.Fatalf("session file: %v\n%s", err, data)
	}
	// The query, three assistant turns with their results, the answer.
	if len(history) != 8 || history[0].Content != "say goodbye instead" || history[7].Content != "Changed it." {
		t.Fatalf("session holds %d messages: %+v", len(history), history)
	}

	// The next run goes on from the session.
	code, _, errs = tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", ws, "--session", session, "thanks")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if msgs, _ := es.requests()[4]["messages"].([]any); len(msgs) != 1+8+1 { // system, the session, the query
		t.Errorf("the second run sent %d messages, want the system prompt, the 8 of the session and the query", len(msgs))
	}
}

// TestCodeReadsProjectInstructions: a workspace's AGENTS.md goes into the
// system prompt; --system replaces the whole prompt.
func TestCodeReadsProjectInstructions(t *testing.T) {
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "AGENTS.md"), []byte("Run the tests with make check.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) { textAnswer(w, "ok") })
	system := func(i int) string {
		msgs, _ := es.requests()[i]["messages"].([]any)
		first, _ := msgs[0].(map[string]any)
		return fmt.Sprint(first["role"], ": ", first["content"])
	}
	if code, _, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", ws, "hi"); code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if s := system(0); !strings.HasPrefix(s, "system: ") || !strings.Contains(s, "read_file") || !strings.Contains(s, "Run the tests with make check.") {
		t.Errorf("system prompt %q lacks the tools or AGENTS.md", s)
	}
	if code, _, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", ws, "--system", "Be brief.", "hi"); code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if s := system(1); s != "system: Be brief." {
		t.Errorf("with --system, the system prompt is %q", s)
	}
}

// TestCodeJSON: --json prints one JSON object on stdout, nothing else.
func TestCodeJSON(t *testing.T) {
	ws := t.TempDir()
	var es *endpointServer
	es = newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		if len(es.requests()) == 1 {
			toolCallAnswer(w, "call-1", "write_file", map[string]any{"path": "a.txt", "content": "A"})
			return
		}
		textAnswer(w, "Wrote it.")
	})
	code, out, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", ws, "--json", "write a")
	var res codeResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if res.Text != "Wrote it." || res.Iterations != 2 || res.ToolCalls != 1 || len(res.Messages) != 4 || res.Model != "m" ||
		res.Messages[2].ToolResult == nil || res.Messages[2].ToolResult.IsError {
		t.Fatalf("result %+v", res)
	}
	if code, _, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", ws, "--json"); code != ExitUsage {
		t.Fatalf("--json without a prompt: exit %d, stderr %q", code, errs)
	}
}

// TestCodeREPL: one request per line; /reset forgets the conversation,
// /exit ends.
func TestCodeREPL(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) { textAnswer(w, "ok") })
	var stdout, stderr strings.Builder
	in := strings.NewReader("first\nsecond\n/reset\nthird\n/exit\nnever\n")
	session := filepath.Join(t.TempDir(), "session.json")
	code := Run(context.Background(), []string{"code", "--endpoint", es.URL, "--dir", t.TempDir(), "--session", session}, streams{in: in, out: &stdout, err: &stderr})
	if code != ExitOK || stdout.String() != "ok\nok\nok\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	var counts []int
	for _, r := range es.requests() {
		msgs, _ := r["messages"].([]any)
		counts = append(counts, len(msgs))
	}
	// system + query; then the first exchange too; after /reset, none.
	if fmt.Sprint(counts) != "[2 4 2]" {
		t.Fatalf("messages per request %v, want [2 4 2]", counts)
	}
	// The session holds what came after /reset.
	if history, err := readSession(session); err != nil || len(history) != 2 || history[0].Content != "third" {
		t.Errorf("session %+v, %v; want the third request and its answer", history, err)
	}
}

// TestCodeREPLInterrupt: SIGINT while a request runs abandons it, keeps
// nothing of it in the conversation, and the session goes on.
func TestCodeREPLInterrupt(t *testing.T) {
	arrived := make(chan struct{}, 1)
	var es *endpointServer
	es = newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		if len(es.requests()) == 1 {
			arrived <- struct{}{}
			<-r.Context().Done() // a model that takes its time
			return
		}
		textAnswer(w, "ok")
	})
	requests := &requestInterrupter{}
	go func() {
		<-arrived // the REPL began the request before sending it
		if !requests.interrupt() {
			t.Error("no request to interrupt while one was being answered")
		}
	}()
	var stdout, stderr strings.Builder
	in := strings.NewReader("slow\nquick\n")
	code := Run(context.Background(), []string{"code", "--endpoint", es.URL, "--dir", t.TempDir()},
		streams{in: in, out: &stdout, err: &stderr, requests: requests})
	if code != ExitOK || stdout.String() != "ok\n" || !strings.Contains(stderr.String(), "tether: request interrupted") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if msgs, _ := es.requests()[1]["messages"].([]any); len(msgs) != 2 {
		t.Errorf("the request after the interrupted one sent %d messages, want the system prompt and its query", len(msgs))
	}
}

// cancelOnPrompt is a stderr that ends the command's context when the
// prompt appears: a signal while the session waits for a line.
type cancelOnPrompt struct {
	strings.Builder
	cancel context.CancelFunc
}

func (w *cancelOnPrompt) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "> ") {
		w.cancel()
	}
	return w.Builder.Write(p)
}

// TestCodeSignalAtThePrompt: a signal while the session waits for input
// ends it at once, although no line ever comes.
func TestCodeSignalAtThePrompt(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) { textAnswer(w, "ok") })
	in, writer := io.Pipe() // standard input that never ends a line
	defer writer.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOnPrompt{cancel: cancel}
	var stdout strings.Builder
	code := Run(ctx, []string{"code", "--endpoint", es.URL, "--dir", t.TempDir()}, streams{in: in, out: &stdout, err: stderr})
	if code != ExitInterrupted || len(es.requests()) != 0 {
		t.Fatalf("exit %d, %d requests, stderr %q", code, len(es.requests()), stderr.String())
	}
}

// TestCodeLimitExitCode: a model that repeats one call forever is
// stopped by a limit, which has its own exit code.
func TestCodeLimitExitCode(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		toolCallAnswer(w, "call", "list_files", map[string]any{"pattern": "*"})
	})
	code, _, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", t.TempDir(), "loop")
	if code != ExitAgentLimit || !strings.HasPrefix(errs[strings.LastIndex(strings.TrimRight(errs, "\n"), "\n")+1:], "tether: ") {
		t.Fatalf("exit %d, stderr %q; want exit %d and one error line", code, errs, ExitAgentLimit)
	}
}

// TestCodeRefusesABadWorkspace: --dir must be a directory.
func TestCodeRefusesABadWorkspace(t *testing.T) {
	es := newEndpoint(t, func(w http.ResponseWriter, r *http.Request) { textAnswer(w, "ok") })
	code, _, errs := tether(t, context.Background(), "code", "--endpoint", es.URL, "--dir", filepath.Join(t.TempDir(), "none"), "hi")
	if code != ExitUsage || len(es.requests()) != 0 {
		t.Fatalf("exit %d, %d requests, stderr %q", code, len(es.requests()), errs)
	}
}
