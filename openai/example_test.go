package openai_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// A llama-server answer with template-opened thinking and a text-protocol
// tool call: the client separates the three.
func ExampleClient_Complete() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"index":0,"finish_reason":"stop","message":{"content":`+
			`"The user wants Go files.</think>\n\nLooking.\n<tool_call>\n{\"name\":\"glob\",\"arguments\":{\"pattern\":\"*.go\"}}\n</tool_call>"}}],`+
			`"usage":{"prompt_tokens":42,"completion_tokens":17}}`)
	}))
	defer srv.Close()

	c, err := openai.New(openai.Options{BaseURL: srv.URL, ToolMode: openai.ToolsText})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	resp, err := c.Complete(context.Background(), llm.Request{
		Messages: []llm.Message{llm.UserMessage("list the Go files")},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("text: %q\nreasoning: %q\n", resp.Text, resp.Reasoning)
	for _, call := range resp.ToolCalls {
		fmt.Printf("call: %s %s\n", call.Name, call.Input)
	}
	fmt.Println("stop:", resp.StopReason, "usage:", resp.Usage.Total())
	// Output:
	// text: "Looking."
	// reasoning: "The user wants Go files."
	// call: glob {"pattern":"*.go"}
	// stop: tool_use usage: 59
}
