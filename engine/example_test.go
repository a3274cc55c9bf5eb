package engine_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/synth"
)

// Load a model and generate. The model here is synthetic, with a tool
// call planted in its weights: greedy decoding after the chat template's
// generation prompt writes that call and ends the turn.
func Example() {
	dir, err := os.MkdirTemp("", "engine-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	shape, err := synth.Tiny(synth.ArchQwen2)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, "tiny.gguf")
	m, err := synth.Write(context.Background(), path, synth.Options{Shape: shape, Type: gguf.Q8_0, ToolCall: true})
	if err != nil {
		log.Fatal(err)
	}

	e, err := engine.Load(path, engine.Options{Threads: 1, ContextLength: 256})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	info := e.Info()
	fmt.Println(info.Arch, info.TemplateFamily, info.ContextLength)

	prompt := "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n"
	res, err := e.Complete(context.Background(), engine.Request{Text: prompt, MaxTokens: 64})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q %s %v\n", res.Text, res.Summary.Reason, res.Text == m.ToolCallText())
	// Output:
	// qwen2 qwen2.5 256
	// "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>" eog true
}
