package llm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMessageJSONRoundTrip(t *testing.T) {
	msgs := []Message{
		SystemMessage("be terse"),
		UserMessage("list files"),
		AssistantMessage("ok"),
		{Role: RoleAssistant, Content: "done", Reasoning: "the user wants files"},
		ToolUseMessage(ToolCall{ID: "call-1", Name: "glob", Input: json.RawMessage(`{"pattern":"*.go"}`)}),
		ToolResultMessage(ToolResult{ToolUseID: "call-1", Name: "glob", Content: "main.go", IsError: false}),
		{Role: RoleAssistant, Content: "both", ToolCalls: []ToolCall{
			{ID: "call-2", Name: "read", Input: json.RawMessage(`{"path":"a"}`)},
			{ID: "call-3", Name: "read", Input: json.RawMessage(`{"path":"b"}`)},
		}},
	}
	data, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"role":"system","content":"be terse"},{"role":"user","content":"list files"},` +
		`{"role":"assistant","content":"ok"},` +
		`{"role":"assistant","content":"done","reasoning":"the user wants files"},` +
		`{"role":"assistant","tool_calls":[{"id":"call-1","name":"glob","input":{"pattern":"*.go"}}]},` +
		`{"role":"tool","tool_result":{"tool_use_id":"call-1","name":"glob","content":"main.go","is_error":false}},` +
		`{"role":"assistant","content":"both","tool_calls":[{"id":"call-2","name":"read","input":{"path":"a"}},` +
		`{"id":"call-3","name":"read","input":{"path":"b"}}]}]`
	if string(data) != want {
		t.Fatalf("marshal:\n got %s\nwant %s", data, want)
	}
	var back []Message
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, msgs) {
		t.Fatalf("round trip changed messages:\n got %+v\nwant %+v", back, msgs)
	}
}

func TestMessageReadsSeedForm(t *testing.T) {
	in := `[{"User":"hello"},{"Assistant":"hi"},{"System":"sys"},
	{"AssistantToolUse":{"id":"local-1","name":"glob","input":{"pattern":"src/**/*.rs"}}},
	{"ToolResult":{"tool_use_id":"local-1","content":"src/main.rs","is_error":false}}]`
	var got []Message
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := []Message{
		UserMessage("hello"), AssistantMessage("hi"), SystemMessage("sys"),
		ToolUseMessage(ToolCall{ID: "local-1", Name: "glob", Input: json.RawMessage(`{"pattern":"src/**/*.rs"}`)}),
		ToolResultMessage(ToolResult{ToolUseID: "local-1", Content: "src/main.rs"}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

// TestMessageFilesOfEveryForm reads the same conversation stored in the
// current form (one assistant turn with two calls), the older form (one
// call per message) and the seed's, and checks each file means the same
// conversation once consecutive assistant messages are read as one turn.
func TestMessageFilesOfEveryForm(t *testing.T) {
	read := func(name string) []Message {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []Message
		if err := json.Unmarshal(data, &msgs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return msgs
	}
	current := read("messages-current.json")
	if n := len(current[1].ToolCalls); n != 2 || current[1].Content != "Checking both." || current[1].Reasoning == "" {
		t.Fatalf("the assistant turn lost its parts: %+v", current[1])
	}
	// turns folds a run of assistant messages into one turn, as the chat
	// templates and the OpenAI wire client do.
	turns := func(msgs []Message) []Message {
		var out []Message
		for _, m := range msgs {
			if n := len(out); n > 0 && m.Role == RoleAssistant && out[n-1].Role == RoleAssistant && m.Content == "" {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, m.ToolCalls...)
				continue
			}
			out = append(out, m)
		}
		for i := range out {
			out[i].Reasoning = ""
			if out[i].ToolResult != nil {
				r := *out[i].ToolResult
				r.Name = ""
				out[i].ToolResult = &r
			}
			for j := range out[i].ToolCalls {
				var v any
				_ = json.Unmarshal(out[i].ToolCalls[j].Input, &v)
				out[i].ToolCalls[j].Input, _ = json.Marshal(v)
			}
		}
		return out
	}
	want := turns(current)
	for _, name := range []string{"messages-one-call.json", "messages-seed.json"} {
		if got := turns(read(name)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	// Writing always uses the current form, which reads back unchanged.
	data, err := json.Marshal(read("messages-one-call.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"tool_call"`) {
		t.Errorf("written in the older form: %s", data)
	}
}

func TestResponseMessageIsTheWholeTurn(t *testing.T) {
	r := Response{Text: "two calls", Reasoning: "why", ToolCalls: []ToolCall{
		{ID: "1", Name: "a", Input: json.RawMessage(`{}`)}, {ID: "2", Name: "b", Input: json.RawMessage(`{}`)},
	}}
	m := r.Message()
	if m.Role != RoleAssistant || m.Content != r.Text || m.Reasoning != r.Reasoning || !reflect.DeepEqual(m.ToolCalls, r.ToolCalls) {
		t.Fatalf("Message() = %+v, want the whole turn of %v", m, &r)
	}
	m.ToolCalls[0].Name = "changed"
	if r.ToolCalls[0].Name != "a" {
		t.Error("the message shares its calls with the response")
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMessageRejectsMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"no role":             `{"content":"x"}`,
		"unknown role":        `{"role":"robot","content":"x"}`,
		"tool without res":    `{"role":"tool","content":"x"}`,
		"call without name":   `{"role":"assistant","tool_call":{"id":"1","input":{}}}`,
		"calls without name":  `{"role":"assistant","tool_calls":[{"id":"1","name":"a"},{"id":"2"}]}`,
		"both call forms":     `{"role":"assistant","tool_call":{"id":"1","name":"a"},"tool_calls":[{"id":"2","name":"b"}]}`,
		"tool with calls":     `{"role":"tool","tool_result":{"tool_use_id":"1","content":""},"tool_calls":[{"id":"2","name":"b"}]}`,
		"user with result":    `{"role":"user","tool_result":{"tool_use_id":"1","content":""}}`,
		"unknown field":       `{"role":"user","contents":"x"}`,
		"user with reasoning": `{"role":"user","content":"x","reasoning":"y"}`,
		"unknown variant":     `{"Robot":"x"}`,
		"two variants":        `{"User":"x","Assistant":"y"}`,
		"seed text not text":  `{"User":5}`,
		"not an object":       `"hello"`,
	} {
		t.Run(name, func(t *testing.T) {
			var m Message
			if err := json.Unmarshal([]byte(in), &m); err == nil {
				t.Fatalf("accepted %s as %+v", in, m)
			}
		})
	}
}

func FuzzMessageJSON(f *testing.F) {
	f.Add(`{"role":"user","content":"x"}`)
	f.Add(`{"AssistantToolUse":{"id":"a","name":"b","input":[1]}}`)
	f.Add(`{"role":"tool","tool_result":{"tool_use_id":"1","content":"ok","is_error":true}}`)
	f.Fuzz(func(t *testing.T, in string) {
		var m Message
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			return
		}
		// Whatever is accepted must be valid and survive a round trip.
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", in, err)
		}
		var back Message
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("cannot read back %s: %v", data, err)
		}
	})
}

func TestParseToolDefs(t *testing.T) {
	in := `[
	  {"name":"file_read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}},
	  {"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
	  {"name":"noargs"}
	]`
	defs, err := ParseToolDefs([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 3 || defs[0].Name != "file_read" || defs[1].Name != "get_weather" || defs[1].Description != "Weather" {
		t.Fatalf("got %+v", defs)
	}
	if string(defs[1].InputSchema) != `{"type":"object","properties":{"city":{"type":"string"}}}` {
		t.Fatalf("schema = %s", defs[1].InputSchema)
	}
	if string(defs[2].InputSchema) != `{"type":"object","properties":{}}` {
		t.Fatalf("default schema = %s", defs[2].InputSchema)
	}
	for name, bad := range map[string]string{
		"not array":  `{"name":"x"}`,
		"no name":    `[{"description":"x"}]`,
		"duplicate":  `[{"name":"x"},{"name":"x"}]`,
		"bad schema": `[{"name":"x","input_schema":[1]}]`,
		"bad type":   `[{"type":"code_interpreter","function":{"name":"x"}}]`,
	} {
		if _, err := ParseToolDefs([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
}
