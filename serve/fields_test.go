package serve

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

// TestFieldTables checks the field tables against the request structs:
// the supported fields are exactly those the structs decode, no name is
// listed twice, and every field that is not supported says why.
func TestFieldTables(t *testing.T) {
	for _, c := range []struct {
		name   string
		fields []requestField
		typ    reflect.Type
	}{
		{"chat", chatFields, reflect.TypeFor[chatRequest]()},
		{"completion", completionFields, reflect.TypeFor[completionRequest]()},
		{"message", messageFields, reflect.TypeFor[oaiwire.RequestMessage]()},
		{"tool", toolFields, reflect.TypeFor[oaiwire.Tool]()},
		{"tool function", fieldProps(toolFields, "function"), reflect.TypeFor[oaiwire.FunctionDef]()},
		{"stream_options", fieldProps(chatFields, "stream_options"), reflect.TypeOf(samplingFields{}.StreamOptions).Elem()},
	} {
		got, want := fieldNames(c.fields, fieldSupported), jsonFieldNames(c.typ)
		if !slices.Equal(got, want) {
			t.Errorf("%s: supported fields %q, the struct decodes %q", c.name, got, want)
		}
		seen := map[string]bool{}
		for _, f := range c.fields {
			if seen[f.name] {
				t.Errorf("%s: %q is listed twice", c.name, f.name)
			}
			seen[f.name] = true
			if f.status != fieldSupported && f.why == "" {
				t.Errorf("%s: %s field %q does not say why", c.name, f.status, f.name)
			}
			for _, n := range f.neutral {
				if !json.Valid([]byte(n)) {
					t.Errorf("%s: %q's neutral value %s is not JSON", c.name, f.name, n)
				}
			}
		}
	}
}

func fieldProps(fields []requestField, name string) []requestField {
	i := slices.IndexFunc(fields, func(f requestField) bool { return f.name == name })
	return fields[i].props
}

// fieldValues are realistic values for the ignored fields.
var fieldValues = map[string]any{
	"user": "user-1234", "safety_identifier": "hash-1", "store": true, "metadata": map[string]any{"run": "7"},
	"service_tier": "auto", "prompt_cache_key": "k", "cache_prompt": true, "id_slot": 0,
}

// TestRequestFields sends every listed field of chat and text
// completions through the server: ignored fields and refused fields with
// a neutral value are answered, refused fields with any other value and
// unknown fields are 400s that name them.
func TestRequestFields(t *testing.T) {
	ts := startServer(t, Config{})
	for _, c := range []struct {
		path   string
		fields []requestField
		base   func() map[string]any
	}{
		{"/v1/chat/completions", chatFields, func() map[string]any { return chatBody(map[string]any{"max_tokens": 1}) }},
		{"/v1/completions", completionFields, func() map[string]any { return map[string]any{"prompt": "hi", "max_tokens": 1} }},
	} {
		send := func(t *testing.T, name string, value any) answer {
			t.Helper()
			body := c.base()
			body[name] = value
			return ts.call(t, http.MethodPost, c.path, body, "")
		}
		for _, f := range c.fields {
			switch f.status {
			case fieldIgnored:
				v, ok := fieldValues[f.name]
				if !ok {
					t.Fatalf("no test value for the ignored field %q", f.name)
				}
				if a := send(t, f.name, v); a.status != http.StatusOK {
					t.Errorf("%s: ignored field %s: %d %s", c.path, f.name, a.status, a.body)
				}
			case fieldRefused:
				a := send(t, f.name, "tether-test-value")
				if a.status != http.StatusBadRequest {
					t.Errorf("%s: refused field %s: %d %s", c.path, f.name, a.status, a.body)
					continue
				}
				obj := a.errorObject(t)
				if obj["param"] != f.name || obj["code"] != "unsupported_parameter" || !strings.Contains(obj["message"].(string), f.name) {
					t.Errorf("%s: refused field %s: %v", c.path, f.name, obj)
				}
				for _, n := range append([]string{"null"}, f.neutral...) {
					if a := send(t, f.name, json.RawMessage(n)); a.status != http.StatusOK {
						t.Errorf("%s: %s = %s (neutral): %d %s", c.path, f.name, n, a.status, a.body)
					}
				}
			}
		}
		a := send(t, "frobnicate", 1)
		if a.status != http.StatusBadRequest {
			t.Fatalf("%s: unknown field: %d %s", c.path, a.status, a.body)
		}
		if obj := a.errorObject(t); obj["param"] != "frobnicate" || obj["code"] != "unknown_parameter" || !strings.Contains(obj["message"].(string), "frobnicate") {
			t.Errorf("%s: unknown field: %v", c.path, obj)
		}
	}

	// Fields inside messages, tools and chat_template_kwargs.
	for _, c := range []struct {
		name  string
		extra map[string]any
		param string
		code  string
	}{
		{"unknown message field", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi", "mood": "happy"}}}, "messages[0].mood", "unknown_parameter"},
		{"legacy function_call in a message", map[string]any{"messages": []any{map[string]any{"role": "assistant", "content": "x", "function_call": map[string]any{"name": "f"}}, map[string]any{"role": "user", "content": "hi"}}}, "messages[0].function_call", "unsupported_parameter"},
		{"unknown response_format field", map[string]any{"response_format": map[string]any{"type": "json_object", "indent": 2}}, "response_format.indent", "unknown_parameter"},
		{"unknown tool field", map[string]any{"tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "f"}, "cache_control": map[string]any{}}}}, "tools[0].cache_control", "unknown_parameter"},
		{"unknown template kwarg", map[string]any{"chat_template_kwargs": map[string]any{"enable_thinking": false, "tools_in_user_message": true}}, "chat_template_kwargs.tools_in_user_message", "unknown_parameter"},
		{"unknown stream option", map[string]any{"stream_options": map[string]any{"include_usage": true, "chunk_size": 3}}, "stream_options.chunk_size", "unknown_parameter"},
		{"legacy functions", map[string]any{"functions": []any{map[string]any{"name": "f"}}}, "functions", "unsupported_parameter"},
		{"lazy grammar", map[string]any{"grammar": `root ::= "a"`, "grammar_lazy": true}, "grammar_lazy", "unsupported_parameter"},
		{"n_probs", map[string]any{"n_probs": 3}, "n_probs", "unsupported_parameter"},
	} {
		a := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(c.extra), "")
		if a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", c.name, a.status, a.body)
			continue
		}
		if obj := a.errorObject(t); obj["param"] != c.param || obj["code"] != c.code {
			t.Errorf("%s: %v", c.name, obj)
		}
	}
	// Accepted inside: neutral and ignored values.
	for name, extra := range map[string]map[string]any{
		"strict false":             {"tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "f", "strict": false}}}},
		"refusal and annotations":  {"messages": []any{map[string]any{"role": "user", "content": "hi"}, map[string]any{"role": "assistant", "content": "no", "refusal": nil, "annotations": []any{}}, map[string]any{"role": "user", "content": "please"}}},
		"include_obfuscation":      {"stream_options": map[string]any{"include_usage": true, "include_obfuscation": false}},
		"response_format text":     {"response_format": map[string]any{"type": "text"}},
		"modalities text":          {"modalities": []any{"text"}},
		"parallel_tool_calls true": {"parallel_tool_calls": true},
		"a fifth stop string":      {"stop": []any{"a", "b", "c", "d", "e"}},
	} {
		if a := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(extra), ""); a.status != http.StatusOK {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	// The tokenizer endpoints know their fields too.
	if a := ts.call(t, http.MethodPost, "/tokenize", map[string]any{"content": "x", "add_bos": true}, ""); a.status != http.StatusBadRequest || a.errorObject(t)["param"] != "add_bos" {
		t.Errorf("/tokenize with an unknown field: %d %s", a.status, a.body)
	}
}

// TestParallelToolCallsFalse checks that parallel_tool_calls false keeps
// the model's first call only, whole and streamed.
func TestParallelToolCallsFalse(t *testing.T) {
	s, err := New(Config{Model: "unused.gguf"})
	if err != nil {
		t.Fatal(err)
	}
	calls := []llm.ToolCall{
		{ID: "call_a", Name: "glob", Input: json.RawMessage(`{"pattern":"*.go"}`)},
		{ID: "call_b", Name: "read", Input: json.RawMessage(`{"path":"x"}`)},
	}
	events := func(yield func(llm.Event, error) bool) {
		for _, c := range calls {
			if !yield(llm.Event{Kind: llm.EventToolCallStart, ToolCall: &c}, nil) || !yield(llm.Event{Kind: llm.EventToolCallEnd, ToolCall: &c}, nil) {
				return
			}
		}
		yield(llm.Event{Kind: llm.EventDone, Response: &llm.Response{ToolCalls: slices.Clone(calls), StopReason: llm.StopToolUse}}, nil)
	}
	for _, oneCall := range []bool{false, true} {
		want := 2
		if oneCall {
			want = 1
		}
		rec := httptest.NewRecorder()
		a := &chatAnswer{generationLog: generationLog{s: s, sw: &statusWriter{ResponseWriter: rec}}, oneCall: oneCall, choices: 1}
		if e := a.complete(context.Background(), mergeChoices(func() {}, []iter.Seq2[llm.Event, error]{events})); e != nil {
			t.Fatal(e)
		}
		var whole struct {
			Choices []struct {
				Message struct {
					ToolCalls []struct{ ID string } `json:"tool_calls"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &whole); err != nil || len(whole.Choices[0].Message.ToolCalls) != want || whole.Choices[0].Message.ToolCalls[0].ID != "call_a" {
			t.Errorf("oneCall %v: whole answer %s", oneCall, rec.Body)
		}

		rec = httptest.NewRecorder()
		a = &chatAnswer{generationLog: generationLog{s: s, sw: &statusWriter{ResponseWriter: rec}}, oneCall: oneCall, choices: 1}
		ctx, cancel := context.WithCancel(context.Background())
		if e := a.stream(ctx, cancel, mergeChoices(cancel, []iter.Seq2[llm.Event, error]{events})); e != nil {
			t.Fatal(e)
		}
		cancel()
		if got := strings.Count(rec.Body.String(), `"id":"call_`); got != want {
			t.Errorf("oneCall %v: %d calls streamed, want %d:\n%s", oneCall, got, want, rec.Body)
		}
		if strings.Contains(rec.Body.String(), `"index":1`) != !oneCall {
			t.Errorf("oneCall %v: stream\n%s", oneCall, rec.Body)
		}
	}
}
