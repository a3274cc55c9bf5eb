package managed_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/llm"
)

// The README's library example: launch a server for a model, stream one
// answer, and stop the server.
func ExampleLaunch() {
	ctx := context.Background()
	d, err := managed.Launch(ctx, managed.Options{Model: "qwen2.5-0.5b-instruct-q8_0.gguf"})
	if err != nil {
		log.Fatal(err) // typed: *llm.ModelFileError, *llm.BinaryNotFoundError, *llm.ServerExitedError, …
	}
	defer d.Close() // SIGTERM, grace, SIGKILL: the server never outlives us

	req := llm.Request{
		System:   "You are terse.",
		Messages: []llm.Message{llm.UserMessage("Name three Go proverbs.")},
	}
	for ev, err := range d.Stream(ctx, req) {
		if err != nil {
			log.Fatal(err)
		}
		switch ev.Kind {
		case llm.EventTextDelta:
			fmt.Print(ev.Text)
		case llm.EventDone:
			fmt.Printf("\n[%s, %d tokens]\n", ev.Response.StopReason, ev.Response.Usage.OutputTokens)
		}
	}
}
