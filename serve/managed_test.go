//go:build unix

package serve

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/managed"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
)

// TestManagedDriver launches the real binary through the managed driver's
// "tether" backend, as tether run does (unix socket, API key and alias
// nonce, ownership probe on /props), and runs a tool-call round trip.
func TestManagedDriver(t *testing.T) {
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	d, err := managed.Launch(context.Background(), managed.Options{
		Model:         synthModel(t, synth.ArchQwen2, true),
		Backend:       "tether",
		Profiles:      backend.Options{TetherProgram: bin},
		ContextWindow: 2048,
		Threads:       1,
	})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	defer d.Close()
	info := d.Info()
	if info.Backend != "tether" || info.ContextWindow != 2048 || info.Privacy != llm.Sovereign {
		t.Errorf("info %+v", info)
	}
	tool := llm.ToolDef{Name: synth.ToolName, InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	req := llm.Request{Messages: []llm.Message{llm.UserMessage("weather in Paris?")}, Tools: []llm.ToolDef{tool}, Temperature: llm.Ptr(0.0), MaxTokens: 64}
	resp, err := llm.CompleteFromStream(d.Stream(context.Background(), req))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != synth.ToolName {
		t.Fatalf("first turn %s", resp)
	}
	req.Messages = append(req.Messages, llm.ToolUseMessage(resp.ToolCalls[0]),
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: resp.ToolCalls[0].ID, Name: synth.ToolName, Content: "18C"}))
	second, err := d.Complete(context.Background(), req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if second.Usage.InputTokens <= resp.Usage.InputTokens {
		t.Errorf("second turn usage %+v, first %+v", second.Usage, resp.Usage)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
