package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
	"github.com/tetherllm/tether/toolcall"
)

// FuzzRequestRoundTrip sends a conversation with tether's openai client
// (native tools, reasoning in the history) and decodes the body it sent
// as tether serve does: the server reads the client's conversation,
// tools and sampling settings back.
func FuzzRequestRoundTrip(f *testing.F) {
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		bodies <- data
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	c, err := openai.New(openai.Options{BaseURL: srv.URL, ReasoningInHistory: true})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()

	f.Add("You are terse.", "list the Go files", "Looking.", "use glob", "glob", `{"pattern":"*.go"}`, "main.go", true, "Thanks", 0.5, 40, int64(7), "</answer>")
	f.Add("", "hi", "Calling.", "", "now", `{}`, "12:00", false, "", 0.0, 1, int64(-1), "")
	f.Add("sys ünï 🚀", "q \"quoted\" \\", "a\nb", "  r  ", "t_1", `{"a":[1,2.5,null,{"b":"c"}]}`, "", true, "x", 2.0, 0, int64(0), "\n\n")
	f.Fuzz(func(t *testing.T, system, user, said, reasoning, name, args, result string, twoCalls bool, last string, temp float64, topK int, seed int64, stop string) {
		want, ok := fuzzRequest(system, user, said, reasoning, name, args, result, twoCalls, last, temp, topK, seed, stop)
		if !ok {
			t.Skip()
		}
		if _, err := c.Complete(context.Background(), *want); err != nil {
			t.Fatalf("client: %v", err)
		}
		body := <-bodies
		var req chatRequest
		if e := decodeRequest(body, &req, chatFields); e != nil {
			t.Fatalf("the server refuses the client's body: %v\n%s", e, body)
		}
		call, e := req.call()
		if e != nil {
			t.Fatalf("the server refuses the client's request: %v\n%s", e, body)
		}
		got := call.Request
		if got.System != toolcall.CutSystem(want.System) {
			t.Errorf("system %q, want %q", got.System, toolcall.CutSystem(want.System))
		}
		if carried := carriedMessages(want.Messages); !reflect.DeepEqual(got.Messages, carried) {
			t.Errorf("messages\n got %#v\nwant %#v\nbody %s", got.Messages, carried, body)
		}
		if !reflect.DeepEqual(got.Tools, want.Tools) {
			t.Errorf("tools %#v, want %#v", got.Tools, want.Tools)
		}
		got.System, got.Messages, got.Tools = want.System, want.Messages, want.Tools
		if !reflect.DeepEqual(got, *want) {
			t.Errorf("request\n got %#v\nwant %#v", got, *want)
		}
	})
}

// carriedMessages are msgs as JSON carries them: a call's arguments travel
// as a JSON string, which holds no invalid UTF-8 (the encoder replaces
// each bad byte with U+FFFD), so the server reads those.
func carriedMessages(msgs []llm.Message) []llm.Message {
	out := slices.Clone(msgs)
	for i, m := range out {
		if len(m.ToolCalls) == 0 {
			continue
		}
		calls := slices.Clone(m.ToolCalls)
		for j, c := range calls {
			var wire string
			quoted, _ := json.Marshal(string(c.Input))
			json.Unmarshal(quoted, &wire)
			calls[j].Input = json.RawMessage(wire)
		}
		out[i].ToolCalls = calls
	}
	return out
}

// fuzzRequest builds a conversation in the form the server reads back
// unchanged: one assistant turn with text, reasoning and calls, every
// call answered, ids set, inputs compact JSON objects. ok is false for
// input the client or the server refuses on purpose.
func fuzzRequest(system, user, said, reasoning, name, args, result string, twoCalls bool, last string, temp float64, topK int, seed int64, stop string) (*llm.Request, bool) {
	for _, s := range []string{system, user, said, reasoning, name, result, last, stop} {
		if !utf8.ValidString(s) {
			return nil, false
		}
	}
	if user == "" || said == "" || name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\n\"<>") {
		return nil, false
	}
	var input bytes.Buffer
	if json.Compact(&input, []byte(args)) != nil || !bytes.HasPrefix(input.Bytes(), []byte("{")) {
		return nil, false
	}
	calls := []llm.ToolCall{{ID: "call_a", Name: name, Input: json.RawMessage(input.String())}}
	if twoCalls {
		calls = append(calls, llm.ToolCall{ID: "call_b", Name: name, Input: json.RawMessage(`{}`)})
	}
	msgs := []llm.Message{llm.UserMessage(user), {Role: llm.RoleAssistant, Content: said, Reasoning: reasoning, ToolCalls: calls}}
	for _, c := range calls {
		msgs = append(msgs, llm.ToolResultMessage(llm.ToolResult{ToolUseID: c.ID, Name: c.Name, Content: result}))
	}
	if last != "" {
		msgs = append(msgs, llm.UserMessage(last))
	}
	req := &llm.Request{
		System:      system,
		Messages:    msgs,
		Tools:       []llm.ToolDef{{Name: name, Description: "a tool", InputSchema: json.RawMessage(`{"type":"object","properties":{"x":{"type":"string"}}}`)}},
		MaxTokens:   16,
		Temperature: llm.Ptr(temp), TopK: llm.Ptr(topK), Seed: llm.Ptr(seed),
	}
	if stop != "" {
		req.Stop = []string{stop}
	}
	if req.Validate() != nil {
		return nil, false
	}
	return req, true
}
