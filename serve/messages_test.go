package serve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
)

// post sends a JSON body to path with the given headers.
func (ts *testServer) post(t *testing.T, path string, body any, header map[string]string) answer {
	t.Helper()
	data, ok := body.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, ts.url+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: out}
}

func messagesBody(extra map[string]any) map[string]any {
	b := map[string]any{
		"model":       "tiny-chatml",
		"max_tokens":  8,
		"temperature": 0,
		"system":      "You are terse.",
		"messages":    []any{map[string]any{"role": "user", "content": "hello there, tell me the weather"}},
	}
	for k, v := range extra {
		if v == nil {
			delete(b, k)
			continue
		}
		b[k] = v
	}
	return b
}

// message decodes a 200 answer as a message.
func (a answer) message(t *testing.T) anthropic.Response {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var m anthropic.Response
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not a message: %v\n%s", err, a.body)
	}
	return m
}

// msgError checks that the answer is an error in Anthropic's shape with
// the given status and type, and returns its message.
func (a answer) msgError(t *testing.T, status int, typ string) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	var v struct {
		Type  string         `json:"type"`
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(a.body, &v); err != nil || v.Type != "error" {
		t.Fatalf("not an Anthropic error: %s", a.body)
	}
	if v.Error["type"] != typ {
		t.Errorf("error type %v, want %s: %s", v.Error["type"], typ, a.body)
	}
	msg, _ := v.Error["message"].(string)
	if msg == "" {
		t.Errorf("error without a message: %s", a.body)
	}
	return msg
}

// TestMessages checks a complete answer's shape: a msg_ id, one text
// block, max_tokens as the stop reason (the tiny model's answers run to
// the bound), and usage.
func TestMessages(t *testing.T) {
	ts := startServer(t, Config{})
	a := ts.post(t, "/v1/messages", messagesBody(nil), nil)
	raw := a.json(t)
	for _, k := range []string{"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, a.body)
		}
	}
	m := a.message(t)
	if !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || m.Model != ts.ID() {
		t.Errorf("envelope %+v", m)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text == "" {
		t.Fatalf("content %s", a.body)
	}
	if m.StopReason == nil || *m.StopReason != "max_tokens" || m.StopSequence != nil {
		t.Errorf("stop %s", a.body)
	}
	if m.Usage.InputTokens < 5 || m.Usage.OutputTokens != 8 {
		t.Errorf("usage %+v", m.Usage)
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", a.header.Get("Content-Type"))
	}

	// A stop sequence taken from the greedy answer ends it there.
	whole := m.Content[0].Text
	if len(whole) < 6 {
		t.Fatalf("answer %q too short to cut", whole)
	}
	stop := whole[4:6]
	cut := ts.post(t, "/v1/messages", messagesBody(map[string]any{"stop_sequences": []string{stop}}), nil).message(t)
	if cut.StopReason == nil || *cut.StopReason != "stop_sequence" || cut.StopSequence == nil || *cut.StopSequence != stop {
		t.Errorf("stop sequence %q: %+v", stop, cut)
	}
	if len(cut.Content) != 1 || cut.Content[0].Text != whole[:strings.Index(whole, stop)] {
		t.Errorf("cut answer %+v at %q, whole %q", cut.Content, stop, whole)
	}
	// With several sequences the engine does not say which matched.
	two := ts.post(t, "/v1/messages", messagesBody(map[string]any{"stop_sequences": []string{stop, "never in a lower-case answer: Q"}}), nil).message(t)
	if two.StopReason == nil || *two.StopReason != "stop_sequence" || two.StopSequence != nil {
		t.Errorf("two stop sequences: %+v", two)
	}
}

// sseEvent is one event of a stream as sent.
type sseEvent struct {
	name string
	data map[string]any
}

// readEvents reads a whole event stream.
func readEvents(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	var name string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var v map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v); err != nil {
				t.Fatalf("data is not JSON: %s", line)
			}
			if v["type"] != name {
				t.Errorf("event %q carries data of type %v", name, v["type"])
			}
			out = append(out, sseEvent{name, v})
		}
	}
	return out
}

// TestMessagesStream checks the event order and shapes of a streamed
// answer, and that it says what the complete answer says.
func TestMessagesStream(t *testing.T) {
	ts := startServer(t, Config{})
	whole := ts.post(t, "/v1/messages", messagesBody(nil), nil).message(t)
	a := ts.post(t, "/v1/messages", messagesBody(map[string]any{"stream": true}), nil)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %q: %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	evs := readEvents(t, a.body)
	var names []string
	for _, ev := range evs {
		if ev.name != "content_block_delta" || len(names) == 0 || names[len(names)-1] != "content_block_delta" {
			names = append(names, ev.name)
		}
	}
	want := "message_start ping content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("events %s\nwant   %s", got, want)
	}
	start := evs[0].data["message"].(map[string]any)
	if !strings.HasPrefix(start["id"].(string), "msg_") || start["stop_reason"] != nil || len(start["content"].([]any)) != 0 {
		t.Errorf("message_start %v", start)
	}
	if u := start["usage"].(map[string]any); u["input_tokens"] != float64(whole.Usage.InputTokens) {
		t.Errorf("message_start usage %v, complete answer's %+v", u, whole.Usage)
	}
	block := evs[2].data
	if block["index"] != 0.0 || block["content_block"].(map[string]any)["type"] != "text" || block["content_block"].(map[string]any)["text"] != "" {
		t.Errorf("content_block_start %v", block)
	}
	var text strings.Builder
	for _, ev := range evs {
		if ev.name == "content_block_delta" {
			d := ev.data["delta"].(map[string]any)
			if d["type"] != "text_delta" || ev.data["index"] != 0.0 {
				t.Errorf("delta %v", ev.data)
			}
			text.WriteString(d["text"].(string))
		}
	}
	if text.String() != whole.Content[0].Text {
		t.Errorf("streamed %q, complete %q", text.String(), whole.Content[0].Text)
	}
	md := evs[len(evs)-2].data
	if md["delta"].(map[string]any)["stop_reason"] != "max_tokens" || md["usage"].(map[string]any)["output_tokens"] != 8.0 {
		t.Errorf("message_delta %v", md)
	}
	if _, ok := md["delta"].(map[string]any)["stop_sequence"]; !ok {
		t.Errorf("message_delta without stop_sequence: %v", md)
	}
}

// TestMessagesTools runs a tool use and a tool_result round trip on the
// tool-call model, complete and streamed.
func TestMessagesTools(t *testing.T) {
	ts := startServer(t, Config{Model: synthModel(t, synth.ArchQwen2, true), Engine: engineCtx(2048)})
	tools := []any{map[string]any{"name": synth.ToolName, "description": "Get the weather", "input_schema": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	user := map[string]any{"role": "user", "content": "What is the weather in Paris?"}
	body := map[string]any{"max_tokens": 64, "temperature": 0, "tools": tools, "messages": []any{user}}
	first := ts.post(t, "/v1/messages", body, nil).message(t)
	if first.StopReason == nil || *first.StopReason != "tool_use" {
		t.Fatalf("first turn %+v", first)
	}
	var use *anthropic.ContentBlock
	for i := range first.Content {
		if first.Content[i].Type == "tool_use" {
			use = &first.Content[i]
		}
	}
	if use == nil || !strings.HasPrefix(use.ID, "toolu_") || use.Name != synth.ToolName || !sameJSON(string(use.Input), synth.ToolArguments) {
		t.Fatalf("tool use %+v", first.Content)
	}

	// Streamed: the call is a tool_use block whose input comes as
	// input_json_delta.
	body["stream"] = true
	evs := readEvents(t, ts.post(t, "/v1/messages", body, nil).body)
	var partial strings.Builder
	sawStart := false
	for _, ev := range evs {
		switch ev.name {
		case "content_block_start":
			if cb := ev.data["content_block"].(map[string]any); cb["type"] == "tool_use" {
				sawStart = cb["name"] == synth.ToolName && strings.HasPrefix(cb["id"].(string), "toolu_") && cb["id"] != use.ID
				if in, _ := json.Marshal(cb["input"]); string(in) != "{}" {
					t.Errorf("tool_use start input %s", in)
				}
			}
		case "content_block_delta":
			if d := ev.data["delta"].(map[string]any); d["type"] == "input_json_delta" {
				partial.WriteString(d["partial_json"].(string))
			}
		case "message_delta":
			if ev.data["delta"].(map[string]any)["stop_reason"] != "tool_use" {
				t.Errorf("streamed stop %v", ev.data)
			}
		}
	}
	if !sawStart || !sameJSON(partial.String(), synth.ToolArguments) {
		t.Errorf("streamed call: start %v, input %q", sawStart, partial.String())
	}

	// The result goes back; the longer conversation is answered.
	delete(body, "stream")
	body["messages"] = []any{user,
		map[string]any{"role": "assistant", "content": first.Content},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": use.ID, "content": []any{map[string]any{"type": "text", "text": "18C, clear"}}}}},
	}
	second := ts.post(t, "/v1/messages", body, nil).message(t)
	if second.Usage.InputTokens <= first.Usage.InputTokens+10 {
		t.Errorf("second prompt %d tokens, first %d: the call and result were not rendered", second.Usage.InputTokens, first.Usage.InputTokens)
	}
	if second.StopReason == nil || *second.StopReason != "tool_use" {
		t.Errorf("second turn %+v", second)
	}

	// tool_choice none leaves the tools out: the planted call stays text.
	body["messages"] = []any{user}
	body["tool_choice"] = map[string]any{"type": "none"}
	none := ts.post(t, "/v1/messages", body, nil).message(t)
	if *none.StopReason == "tool_use" || len(none.Content) != 1 || !strings.Contains(none.Content[0].Text, synth.ToolName) {
		t.Errorf("tool_choice none: %+v", none)
	}
	body["tool_choice"] = map[string]any{"type": "any"}
	if anyCall := ts.post(t, "/v1/messages", body, nil).message(t); *anyCall.StopReason != "tool_use" {
		t.Errorf("tool_choice any: %+v", anyCall)
	}
}

// TestMessagesThinking checks thinking. On a model whose template opens
// the thinking block (QwQ's), the reasoning comes as a thinking block
// with tether's signature, first, whole and streamed; sent back, it is
// read. On Qwen3's template, thinking disabled (or not asked for) closes
// the block in the prompt, enabled leaves it to the model.
func TestMessagesThinking(t *testing.T) {
	ts := startServer(t, Config{Model: sharedModel(t, "qwq")})
	body := messagesBody(map[string]any{"model": nil, "max_tokens": 16, "thinking": map[string]any{"type": "enabled", "budget_tokens": 8}})
	on := ts.post(t, "/v1/messages", body, nil).message(t)
	if len(on.Content) == 0 || on.Content[0].Type != "thinking" || on.Content[0].Thinking == "" {
		t.Fatalf("thinking enabled: %+v", on.Content)
	}
	if sum := sha256.Sum256([]byte(on.Content[0].Thinking)); on.Content[0].Signature != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("signature %q", on.Content[0].Signature)
	}
	body["stream"] = true
	evs := readEvents(t, ts.post(t, "/v1/messages", body, nil).body)
	var thinking, sig strings.Builder
	for _, ev := range evs {
		switch ev.name {
		case "content_block_start":
			if cb := ev.data["content_block"].(map[string]any); ev.data["index"] == 0.0 && (cb["type"] != "thinking" || cb["thinking"] != "" || cb["signature"] != "") {
				t.Errorf("thinking block start %v", cb)
			}
		case "content_block_delta":
			d := ev.data["delta"].(map[string]any)
			switch d["type"] {
			case "thinking_delta":
				thinking.WriteString(d["thinking"].(string))
			case "signature_delta":
				sig.WriteString(d["signature"].(string))
			}
		}
	}
	if thinking.String() != on.Content[0].Thinking || sig.String() != on.Content[0].Signature {
		t.Errorf("streamed thinking %q (signature %q), complete %q", thinking.String(), sig.String(), on.Content[0].Thinking)
	}
	delete(body, "stream")
	body["messages"] = []any{
		map[string]any{"role": "user", "content": "hi"},
		map[string]any{"role": "assistant", "content": append(on.Content, anthropic.ContentBlock{Type: "text", Text: "Hello."})},
		map[string]any{"role": "user", "content": "and then?"},
	}
	if a := ts.post(t, "/v1/messages", body, nil); a.status != http.StatusOK {
		t.Errorf("thinking in history: %d %s", a.status, a.body)
	}

	q3 := startServer(t, Config{Model: sharedModel(t, "qwen3")})
	count := func(thinking any) int {
		b := messagesBody(map[string]any{"model": nil, "max_tokens": nil, "temperature": nil, "thinking": thinking})
		var n anthropic.TokenCount
		a := q3.post(t, "/v1/messages/count_tokens", b, nil)
		if err := json.Unmarshal(a.body, &n); err != nil || a.status != 200 {
			t.Fatalf("count_tokens %d %s", a.status, a.body)
		}
		return n.InputTokens
	}
	enabled, disabled, unset := count(map[string]any{"type": "enabled", "budget_tokens": 1024}), count(map[string]any{"type": "disabled"}), count(nil)
	if disabled <= enabled || unset != disabled {
		t.Errorf("prompt tokens: thinking enabled %d, disabled %d, not set %d", enabled, disabled, unset)
	}
}

// TestCountTokens checks that count_tokens counts the prompt a message
// request renders, tools included.
func TestCountTokens(t *testing.T) {
	ts := startServer(t, Config{})
	count := func(body map[string]any) int {
		t.Helper()
		a := ts.post(t, "/v1/messages/count_tokens", body, nil)
		if a.status != http.StatusOK {
			t.Fatalf("count_tokens %d: %s", a.status, a.body)
		}
		var n anthropic.TokenCount
		if err := json.Unmarshal(a.body, &n); err != nil {
			t.Fatal(err)
		}
		return n.InputTokens
	}
	plain := messagesBody(map[string]any{"max_tokens": nil, "temperature": nil})
	n := count(plain)
	m := ts.post(t, "/v1/messages", messagesBody(nil), nil).message(t)
	if n != m.Usage.InputTokens {
		t.Errorf("count_tokens %d, the message's input_tokens %d", n, m.Usage.InputTokens)
	}
	plain["tools"] = []any{map[string]any{"name": "lookup", "description": "Look a word up in the dictionary", "input_schema": map[string]any{"type": "object"}}}
	if withTools := count(plain); withTools <= n {
		t.Errorf("with a tool %d tokens, without %d", withTools, n)
	}
	// A prompt longer than the context is counted all the same.
	plain["messages"] = []any{map[string]any{"role": "user", "content": strings.Repeat("word ", 2000)}}
	if long := count(plain); long < 1000 {
		t.Errorf("long prompt counted %d", long)
	}
	msg := ts.post(t, "/v1/messages/count_tokens", messagesBody(nil), nil).msgError(t, 400, "invalid_request_error")
	if !strings.Contains(msg, "max_tokens") {
		t.Errorf("count_tokens with max_tokens: %s", msg)
	}
}

// TestMessagesErrors checks the refusals: each in Anthropic's shape,
// with the field named.
func TestMessagesErrors(t *testing.T) {
	ts := startServer(t, Config{APIKey: "sekrit"})
	key := map[string]string{"x-api-key": "sekrit"}
	ts.post(t, "/v1/messages", messagesBody(nil), nil).msgError(t, 401, "authentication_error")
	ts.post(t, "/v1/messages", messagesBody(nil), map[string]string{"x-api-key": "wrong"}).msgError(t, 401, "authentication_error")
	ts.post(t, "/v1/messages/count_tokens", messagesBody(nil), nil).msgError(t, 401, "authentication_error")
	ts.post(t, "/v1/messages", messagesBody(nil), key).message(t)
	ts.post(t, "/v1/messages", messagesBody(nil), map[string]string{"Authorization": "Bearer sekrit"}).message(t)

	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no max_tokens", messagesBody(map[string]any{"max_tokens": nil}), "max_tokens"},
		{"max_tokens type", messagesBody(map[string]any{"max_tokens": "many"}), "max_tokens"},
		{"unknown field", messagesBody(map[string]any{"service_tier": "auto"}), "service_tier"},
		{"image", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "AAAA"}}}}}}), "messages[0].content[0].type"},
		{"document", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "text", "text": "read"}, map[string]any{"type": "document", "source": map[string]any{}}}}}}), "messages[0].content[1].type"},
		{"citations", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "text", "text": "x", "citations": []any{}}}}}}), "messages[0].content[0].citations"},
		{"bad role", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "system", "content": "x"}}}), "messages[0].role"},
		{"content type", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": 5}}}), "messages[0].content"},
		{"prefill", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "x"}, map[string]any{"role": "assistant", "content": "The answer is"}}}), "messages[1]"},
		{"server tool", messagesBody(map[string]any{"tools": []any{map[string]any{"type": "web_search_20250305", "name": "web_search"}}}), "tools[0].type"},
		{"tool extra", messagesBody(map[string]any{"tools": []any{map[string]any{"name": "f", "input_schema": map[string]any{}, "strict": true}}}), "tools[0].strict"},
		{"tool choice", messagesBody(map[string]any{"tool_choice": map[string]any{"type": "sometimes"}}), "tool_choice.type"},
		{"tool choice name", messagesBody(map[string]any{"tool_choice": map[string]any{"type": "tool"}}), "tool_choice.name"},
		{"thinking budget", messagesBody(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 100}}), "thinking.budget_tokens"},
		{"thinking type", messagesBody(map[string]any{"thinking": map[string]any{"type": "sometimes"}}), "thinking.type"},
		{"temperature", messagesBody(map[string]any{"temperature": -1}), "temperature"},
		{"stop sequences", messagesBody(map[string]any{"stop_sequences": []any{""}}), "stop_sequences[0]"},
		{"redacted thinking", messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": "x"},
			map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "redacted_thinking", "data": "x"}}}, map[string]any{"role": "user", "content": "y"}}}), "messages[1].content[0].type"},
		{"not json", []byte(`{"model":`), "JSON"},
		{"temperature type", messagesBody(map[string]any{"temperature": "hot"}), "temperature"},
		{"tool name type", messagesBody(map[string]any{"tools": []any{map[string]any{"name": 5, "input_schema": map[string]any{}}}}), "tools"},
		{"not an object", []byte(`[1]`), "object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := ts.post(t, "/v1/messages", c.body, key).msgError(t, 400, "invalid_request_error")
			if !strings.Contains(msg, c.field) || strings.Contains(msg, "json: ") {
				t.Errorf("message %q does not name %s, or shows the decoder's name", msg, c.field)
			}
		})
	}

	// A prompt longer than the context: Anthropic's wording, with counts.
	long := messagesBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": strings.Repeat("word ", 2000)}}})
	if msg := ts.post(t, "/v1/messages", long, key).msgError(t, 400, "invalid_request_error"); !strings.HasPrefix(msg, "prompt is too long: ") || !strings.HasSuffix(msg, " > 512 maximum") {
		t.Errorf("overflow: %s", msg)
	}

	// An unknown model is answered as chat completions answer it.
	unknown := messagesBody(map[string]any{"model": "claude-sonnet-4-5"})
	chat := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(map[string]any{"model": "claude-sonnet-4-5"}), "sekrit")
	got := ts.post(t, "/v1/messages", unknown, key)
	switch chat.status {
	case http.StatusNotFound:
		if msg := got.msgError(t, 404, "not_found_error"); !strings.Contains(msg, "claude-sonnet-4-5") {
			t.Errorf("unknown model: %s", msg)
		}
	case http.StatusOK:
		got.message(t)
	default:
		t.Errorf("chat completions answered an unknown model with %d", chat.status)
	}
}

// TestMessagesLoading checks the answer before the model is loaded.
func TestMessagesLoading(t *testing.T) {
	ts := startServer(t, Config{}, true)
	a := ts.post(t, "/v1/messages", messagesBody(nil), nil)
	a.msgError(t, http.StatusServiceUnavailable, "overloaded_error")
	if a.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After while loading")
	}
}

// TestMessagesCancel checks that a client that goes away mid-stream
// frees the slot.
func TestMessagesCancel(t *testing.T) {
	ts := startServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	lines, _ := ts.sseLines(t, ctx, "/v1/messages", messagesBody(map[string]any{"stream": true, "max_tokens": 400}), "")
	for l := range lines {
		if strings.Contains(l, "content_block_delta") {
			break
		}
	}
	cancel()
	for range lines {
	}
	waitFor(t, "the engine to be idle", ts.engineIdle)
}

// TestMessagesContextWindow checks an answer that runs into the end of
// the context: Anthropic's stop reason model_context_window_exceeded,
// with what was written, complete and streamed.
func TestMessagesContextWindow(t *testing.T) {
	ts := startServer(t, Config{})
	body := messagesBody(map[string]any{"max_tokens": 400, "messages": []any{map[string]any{"role": "user", "content": strings.Repeat("word ", 95)}}})
	m := ts.post(t, "/v1/messages", body, nil).message(t)
	if m.StopReason == nil || *m.StopReason != "model_context_window_exceeded" || len(m.Content) != 1 || m.Content[0].Text == "" ||
		m.Usage.InputTokens+m.Usage.OutputTokens != 513 {
		t.Fatalf("answer %+v", m)
	}
	body["stream"] = true
	evs := readEvents(t, ts.post(t, "/v1/messages", body, nil).body)
	var text strings.Builder
	for _, ev := range evs {
		switch ev.name {
		case "error":
			t.Errorf("error event %v", ev.data)
		case "content_block_delta":
			text.WriteString(ev.data["delta"].(map[string]any)["text"].(string))
		}
	}
	md := evs[len(evs)-2]
	if md.name != "message_delta" || md.data["delta"].(map[string]any)["stop_reason"] != "model_context_window_exceeded" || text.String() != m.Content[0].Text {
		t.Errorf("stream ends with %v; text %q, complete %q", md, text.String(), m.Content[0].Text)
	}
}

// TestMessagesQueueFull checks that a request beyond the slots and the
// queue is refused at once as Anthropic refuses it when overloaded: 529,
// overloaded_error, Retry-After; tether's client reads it as overload.
func TestMessagesQueueFull(t *testing.T) {
	ts := startServer(t, Config{MaxQueue: -1, Engine: engineCtx(4096)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, _ := ts.sseLines(t, ctx, "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": -1, "ignore_eos": true}), "")
	<-lines
	a := ts.post(t, "/v1/messages", messagesBody(nil), nil)
	a.msgError(t, 529, "overloaded_error")
	if a.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
	}
	c := anthropicClient(t, ts, "")
	_, err := c.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxTokens: 2})
	var rl *llm.RateLimitedError
	if !errors.As(err, &rl) || !rl.Overloaded || rl.RetryAfter != time.Second || !llm.Retryable(err) {
		t.Errorf("client: %v", err)
	}
	// count_tokens takes no slot.
	if n := ts.post(t, "/v1/messages/count_tokens", messagesBody(map[string]any{"max_tokens": nil, "temperature": nil}), nil); n.status != http.StatusOK {
		t.Errorf("count_tokens while full: %d %s", n.status, n.body)
	}
	cancel()
	for range lines {
	}
}

// TestSingleToolUse checks disable_parallel_tool_use: of several calls,
// only the first is answered, in the events and in the response, with
// ids in Anthropic's form.
func TestSingleToolUse(t *testing.T) {
	calls := []llm.ToolCall{{ID: "call_a1", Name: "f", Input: json.RawMessage(`{}`)}, {ID: "call_a2", Name: "g", Input: json.RawMessage(`{"x":1}`)}}
	gen := func(yield func(llm.Event, error) bool) {
		for _, c := range calls {
			if !yield(llm.Event{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: c.ID, Name: c.Name}}, nil) ||
				!yield(llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c}, nil) {
				return
			}
		}
		yield(llm.Event{Kind: llm.EventDone, Response: &llm.Response{ToolCalls: calls, StopReason: llm.StopToolUse}}, nil)
	}
	for _, single := range []bool{true, false} {
		a := &messagesAnswer{single: single}
		var ids []string
		var done *llm.Response
		for ev := range a.filter(gen) {
			switch ev.Kind {
			case llm.EventToolCallEnd:
				ids = append(ids, ev.ToolCall.ID)
			case llm.EventDone:
				done = ev.Response
			}
		}
		want := []string{"toolu_a1", "toolu_a2"}
		if single {
			want = want[:1]
		}
		if strings.Join(ids, " ") != strings.Join(want, " ") || len(done.ToolCalls) != len(want) || done.ToolCalls[0].ID != "toolu_a1" {
			t.Errorf("single=%v: events %v, response %s", single, ids, done)
		}
	}
	if calls[0].ID != "call_a1" {
		t.Errorf("the filter changed the driver's calls: %v", calls)
	}
}

// TestMessagesTooLarge checks a body over the server's limit.
func TestMessagesTooLarge(t *testing.T) {
	ts := startServer(t, Config{MaxBodyBytes: 200})
	body := messagesBody(map[string]any{"system": strings.Repeat("x", 300)})
	ts.post(t, "/v1/messages", body, nil).msgError(t, http.StatusRequestEntityTooLarge, "request_too_large")
	ts.post(t, "/v1/messages/count_tokens", body, nil).msgError(t, http.StatusRequestEntityTooLarge, "request_too_large")
}
