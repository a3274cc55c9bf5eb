package embedded

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
)

// toolCallModel writes engine/synth's tiny tool-call model of arch:
// greedy decoding calls synth.ToolName with synth.ToolArguments.
func toolCallModel(t *testing.T, arch string) string {
	t.Helper()
	shape, err := synth.Tiny(arch)
	if err != nil {
		t.Fatal(err)
	}
	// Smaller than Tiny, for speed under the race detector; the planted
	// call still wins by a logit margin of about 5·sqrt(64) − 12.
	shape.Embd, shape.Layers, shape.Heads, shape.KVHeads, shape.HeadDim, shape.FF = 64, 1, 2, 1, 32, 128
	m, err := synth.New(synth.Options{Shape: shape, Type: quant.Q8_0, Seed: 1, ToolCall: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), arch+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := m.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestToolCallsEndToEnd runs the tool-call model of each chat format
// through the driver: the call comes out parsed, with a fresh id, as
// events and in the response, and a conversation holding the call and its
// result renders and runs.
func TestToolCallsEndToEnd(t *testing.T) {
	tool := llm.ToolDef{Name: synth.ToolName, Description: "Get the weather", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	for _, arch := range []string{synth.ArchQwen2, synth.ArchLlama, synth.ArchQwen3} {
		t.Run(arch, func(t *testing.T) {
			d, err := Open(toolCallModel(t, arch), Options{Engine: engine.Options{ContextLength: 1024, Threads: 2}, Sampling: greedy()})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			c := Call{Request: llm.Request{Messages: []llm.Message{llm.UserMessage("What is the weather in Paris?")}, Tools: []llm.ToolDef{tool}, MaxTokens: 64}}
			if arch == synth.ArchQwen3 {
				c.EnableThinking = llm.Ptr(false)
			}
			resp, err := llmtest.CheckStream(d.StreamCall(context.Background(), c))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 || resp.Text != "" {
				t.Fatalf("response %v", resp)
			}
			call := resp.ToolCalls[0]
			var args, want map[string]any
			json.Unmarshal(call.Input, &args)
			json.Unmarshal([]byte(synth.ToolArguments), &want)
			if call.Name != synth.ToolName || args["city"] != want["city"] || call.ID == "" {
				t.Errorf("call %+v", call)
			}
			c.Messages = append(c.Messages, resp.Message(),
				llm.ToolResultMessage(llm.ToolResult{ToolUseID: call.ID, Name: call.Name, Content: "18C, clear"}))
			second, err := llm.CompleteFromStream(d.StreamCall(context.Background(), c))
			if err != nil {
				t.Fatal(err)
			}
			if len(second.ToolCalls) != 1 || second.ToolCalls[0].ID == call.ID || second.Usage.InputTokens <= resp.Usage.InputTokens {
				t.Errorf("second turn %v (usage %+v, first %+v)", second, second.Usage, resp.Usage)
			}
		})
	}
}
