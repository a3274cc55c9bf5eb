package managed

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/supervisor"
)

// TestRealLlamaServer runs the llama-server profile against a real
// llama.cpp server, when one is at hand: $TETHER_TEST_LLAMA_SERVER, or
// llama-server on PATH. It launches it on a synthetic tool-call model,
// proves ownership (alias, /props key check), reads the context window
// from /props, gets a native tool call through --jinja, and stops it.
func TestRealLlamaServer(t *testing.T) {
	bin := os.Getenv("TETHER_TEST_LLAMA_SERVER")
	if bin == "" {
		var err error
		if bin, err = supervisor.Find("llama-server", ""); err != nil {
			t.Skip("NO REAL llama-server: set TETHER_TEST_LLAMA_SERVER to a llama-server binary to test the profile against it")
		}
	}
	shape, err := synth.Tiny(synth.ArchQwen2)
	if err != nil {
		t.Fatal(err)
	}
	shape.Tie = false
	model := filepath.Join(t.TempDir(), "tool.gguf")
	if _, err := synth.Write(context.Background(), model, synth.Options{Shape: shape, Type: quant.Q8_0, ToolCall: true}); err != nil {
		t.Fatal(err)
	}
	d := launch(t, Options{Model: model, Backend: "llama-server", NoGPU: true, ContextWindow: 2048,
		Profiles: backend.Options{Program: bin}})
	if info := d.Info(); info.ContextWindow != 2048 || info.ContextSource != "server" {
		t.Fatalf("info %+v, want the window from /props", info)
	}
	req := ask("What is the weather in Paris?")
	req.Tools = []llm.ToolDef{{Name: "get_weather", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
	resp, err := d.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != "get_weather" ||
		string(resp.ToolCalls[0].Input) != `{"city":"Paris"}` {
		t.Fatalf("response %v", resp)
	}
	pid := d.PID()
	must(t, d.Close())
	waitGone(t, pid)
}
