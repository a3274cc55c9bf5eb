package anthropic_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
)

// A Messages API server streams thinking, text and a tool call; the
// client turns the stream into llm events and the whole answer.
func ExampleClient_Stream() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		// The server side of the same package writes the events.
		enc := anthropic.NewEncoder("msg_1", "local", 12, nil)
		events := []llm.Event{
			{Kind: llm.EventReasoningDelta, Text: "The user wants Go files."},
			{Kind: llm.EventTextDelta, Text: "Looking."},
			{Kind: llm.EventToolCallStart, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "glob"}},
			{Kind: llm.EventToolCallEnd, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "glob", Input: []byte(`{"pattern": "*.go"}`)}},
			{Kind: llm.EventDone, Response: &llm.Response{StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 12, OutputTokens: 9}}},
		}
		write := func(ev anthropic.StreamEvent) {
			b, _ := ev.MarshalJSON()
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
		}
		write(enc.Start())
		for _, ev := range events {
			for _, se := range enc.Add(ev) {
				write(se)
			}
		}
	}))
	defer srv.Close()

	c, err := anthropic.New(anthropic.Options{BaseURL: srv.URL, Model: "local"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	for ev, err := range c.Stream(context.Background(), llm.Request{Messages: []llm.Message{llm.UserMessage("list the Go files")}}) {
		if err != nil {
			panic(err)
		}
		switch ev.Kind {
		case llm.EventDone:
			fmt.Println("stop:", ev.Response.StopReason, "usage:", ev.Response.Usage.Total())
		case llm.EventToolCallEnd:
			fmt.Println("call:", ev.ToolCall.Name, string(ev.ToolCall.Input))
		default:
			fmt.Printf("%s: %q\n", ev.Kind, ev.Text)
		}
	}
	// Output:
	// reasoning_delta: "The user wants Go files."
	// text_delta: "Looking."
	// tool_call_start: ""
	// call: glob {"pattern":"*.go"}
	// stop: tool_use usage: 21
}
