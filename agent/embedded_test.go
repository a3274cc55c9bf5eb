package agent

import (
	"context"
	"encoding/json"
	"iter"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/llm"
)

// recordingDriver records the requests a real driver receives and the
// prompt size of each answer.
type recordingDriver struct {
	llm.Driver
	mu      sync.Mutex
	reqs    []llm.Request
	prompts []int
}

func (d *recordingDriver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	d.mu.Lock()
	req.Messages = slices.Clone(req.Messages)
	d.reqs = append(d.reqs, req)
	d.mu.Unlock()
	return func(yield func(llm.Event, error) bool) {
		for ev, err := range d.Driver.Stream(ctx, req) {
			if ev.Kind == llm.EventDone && ev.Response != nil {
				d.mu.Lock()
				d.prompts = append(d.prompts, ev.Response.Usage.InputTokens)
				d.mu.Unlock()
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

// TestTurnWithEmbeddedEngine runs the loop on tether's own engine and a
// tiny synthetic model that, decoding greedily, calls get_weather after
// every prompt: the loop runs the call, sends the result back under the
// call's id (the model sees it: its prompt grows), runs the same call a
// second time, refuses the third, and stops the turn when the model asks
// a fourth time.
func TestTurnWithEmbeddedEngine(t *testing.T) {
	shape, err := synth.Tiny(synth.ArchQwen2)
	if err != nil {
		t.Fatal(err)
	}
	// Smaller than Tiny, for speed under the race detector, as
	// driver/embedded's tests do.
	shape.Embd, shape.Layers, shape.Heads, shape.KVHeads, shape.HeadDim, shape.FF = 64, 1, 2, 1, 32, 128
	path := filepath.Join(t.TempDir(), "tool.gguf")
	if _, err := synth.Write(context.Background(), path, synth.Options{Shape: shape, Type: gguf.Q8_0, Seed: 1, ToolCall: true}); err != nil {
		t.Fatal(err)
	}
	d, err := embedded.Open(path, embedded.Options{Engine: engine.Options{ContextLength: 1024, Threads: 2}, Sampling: &sample.Params{}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rd := &recordingDriver{Driver: d}
	weather := &fakeTool{name: synth.ToolName, run: func(context.Context, json.RawMessage) (string, error) { return "18C, clear", nil }}
	a, _ := newAgent(t, Config{Driver: rd, Tools: []Tool{weather}, MaxTokens: 64})

	res, err := a.Turn(context.Background(), nil, "What is the weather in Paris?")
	if le := limitOf(t, err); le.Limit != LimitRepeatedCall {
		t.Fatalf("%v", le)
	}
	var want, got map[string]any
	json.Unmarshal([]byte(synth.ToolArguments), &want)
	inputs := weather.calls()
	if len(inputs) != 2 || json.Unmarshal([]byte(inputs[0]), &got) != nil || got["city"] != want["city"] {
		t.Fatalf("tool ran with %q", inputs)
	}
	if len(rd.reqs) != StuckResponses || res.Iterations != StuckResponses {
		t.Fatalf("%d requests, %d iterations", len(rd.reqs), res.Iterations)
	}
	second := rd.reqs[1].Messages
	if len(second) != 3 || len(second[1].ToolCalls) != 1 || second[2].ToolResult == nil ||
		second[2].ToolResult.ToolUseID != second[1].ToolCalls[0].ID || second[2].ToolResult.Content != "18C, clear" {
		t.Fatalf("second request %s", jsonOf(t, second))
	}
	for i := 1; i < len(rd.prompts); i++ {
		if rd.prompts[i] <= rd.prompts[i-1] {
			t.Errorf("prompt tokens %v: the results did not reach the model", rd.prompts)
		}
	}
	if res.Usage.InputTokens == 0 || len(res.Messages) != 7 || !res.Messages[6].ToolResult.IsError {
		t.Errorf("usage %+v, messages %s", res.Usage, jsonOf(t, res.Messages))
	}
	checkAnswered(t, res.Messages)
}
