package oaiwire

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestTextDecoding(t *testing.T) {
	for in, want := range map[string]string{
		`"hi"`: "hi", `null`: "", `[{"type":"text","text":"a"},{"type":"image_url"},{"text":"b"}]`: "ab", `7`: "", `{}`: "",
	} {
		var got Text
		if err := json.Unmarshal([]byte(in), &got); err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
}

func TestArgumentsRoundTrip(t *testing.T) {
	for _, in := range []string{`"{\"a\":1}"`, `{"a":1}`, `""`} {
		var a Arguments
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(a)
		if err != nil || string(out) != in {
			t.Errorf("%s came back as %s (%v)", in, out, err)
		}
	}
	var a Arguments
	if err := json.Unmarshal([]byte(`null`), &a); err != nil || a.Text != "" || a.Object != nil {
		t.Errorf("null: %+v %v", a, err)
	}
}

// TestMessageOf checks the shapes clients rely on: content null beside
// tool calls, present (even empty) otherwise, arguments as a string.
func TestMessageOf(t *testing.T) {
	calls, _ := json.Marshal(MessageOf(&llm.Response{ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f", Input: json.RawMessage(`{"x":1}`)}}}))
	if want := `{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}`; string(calls) != want {
		t.Errorf("calls only:\n%s\nwant\n%s", calls, want)
	}
	empty, _ := json.Marshal(MessageOf(&llm.Response{}))
	if string(empty) != `{"role":"assistant","content":""}` {
		t.Errorf("empty answer: %s", empty)
	}
}

func TestDeltas(t *testing.T) {
	d := Deltas{OneCall: true}
	call := &llm.ToolCall{ID: "c1", Name: "f", Input: json.RawMessage(`{}`)}
	var got []string
	for _, ev := range []llm.Event{
		{Kind: llm.EventTextDelta, Text: "a"}, {Kind: llm.EventToolCallStart, ToolCall: call}, {Kind: llm.EventToolCallEnd, ToolCall: call},
		{Kind: llm.EventToolCallStart, ToolCall: call}, {Kind: llm.EventToolCallEnd, ToolCall: call}, {Kind: llm.EventDone},
	} {
		if delta, ok := d.Of(ev); ok {
			b, _ := json.Marshal(delta)
			got = append(got, string(b))
		}
	}
	want := []string{`{"content":"a"}`, `{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":""}}]}`, `{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("deltas\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzDecode decodes arbitrary chunks: never a panic, and what decodes
// encodes again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"index":0,"delta":{"content":"a","tool_calls":[{"index":0,"function":{"arguments":{"a":1}}}]},"finish_reason":null}]}`,
		`{"choices":[{"message":{"role":"assistant","content":[{"type":"text","text":"x"}],"reasoning":"r"}}],"usage":{"prompt_tokens":1},"timings":{"prompt_n":2}}`,
		`{"error":{"message":"m","code":503}}`, `{"object":"error","message":"m"}`, `{"choices":[{"stop_reason":"</s>"}]}`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c ChatCompletion
		if json.Unmarshal(data, &c) != nil {
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("%s decoded but does not encode: %v", data, err)
		}
	})
}
