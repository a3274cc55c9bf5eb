package serve

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// synthModel writes engine/synth's tiny model of arch, in tool-call mode
// if asked (greedy decoding then calls synth.ToolName with
// synth.ToolArguments after every generation prompt), once per test
// binary, and returns its path.
func synthModel(t testing.TB, arch string, toolCall bool) string {
	t.Helper()
	key := "synth-" + arch
	if toolCall {
		key += "-toolcall"
	}
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if p, ok := modelPath[key]; ok {
		return p
	}
	shape, err := synth.Tiny(arch)
	if err != nil {
		t.Fatal(err)
	}
	// Smaller than Tiny, for speed under the race detector; the planted
	// call still wins by a logit margin of about 5·sqrt(64) − 12.
	shape.Embd, shape.Layers, shape.Heads, shape.KVHeads, shape.HeadDim, shape.FF = 64, 1, 2, 1, 32, 128
	m, err := synth.New(synth.Options{Shape: shape, Type: quant.Q8_0, Seed: 1, ToolCall: toolCall})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(modelDir, key+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	modelPath[key] = path
	return path
}

var weatherTool = oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        synth.ToolName,
	Description: oai.String("Get the current weather in a given city"),
	Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
})

// TestToolCallRoundTrip runs a tool-call round trip with OpenAI's client
// on each chat format: the model calls the tool (native tool_calls, whole
// and streamed as deltas), the client sends the result back, and the
// model answers the conversation that holds the call and its result. The
// synthetic model's answer to that is another call (its planted chain
// follows every generation prompt), which the server parses again with a
// new id.
func TestToolCallRoundTrip(t *testing.T) {
	for _, arch := range []string{synth.ArchQwen2, synth.ArchLlama, synth.ArchQwen3} {
		t.Run(arch, func(t *testing.T) {
			ts := startServer(t, Config{Model: synthModel(t, arch, true), Engine: engineCtx(2048)})
			c := officialClient(ts, "")
			ctx := context.Background()
			params := oai.ChatCompletionNewParams{
				Model:       ts.ID(),
				Messages:    []oai.ChatCompletionMessageParamUnion{oai.UserMessage("What is the weather in Paris?")},
				Tools:       []oai.ChatCompletionToolUnionParam{weatherTool},
				Temperature: oai.Float(0),
				MaxTokens:   oai.Int(64),
			}
			if arch == synth.ArchQwen3 {
				// Thinking would come first; the planted chain follows the
				// prompt directly when thinking is off.
				params.SetExtraFields(map[string]any{"chat_template_kwargs": map[string]any{"enable_thinking": false}})
			}
			resp, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("first turn: %v", err)
			}
			ch := resp.Choices[0]
			if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
				t.Fatalf("first turn: %s", resp.RawJSON())
			}
			call := ch.Message.ToolCalls[0]
			if call.Function.Name != synth.ToolName || !sameJSON(call.Function.Arguments, synth.ToolArguments) || call.ID == "" || call.Type != "function" {
				t.Fatalf("call %s", call.RawJSON())
			}
			if ch.Message.Content != "" {
				t.Errorf("the call leaked into the content: %q", ch.Message.Content)
			}

			// Streamed: the call arrives as deltas by index.
			stream := c.Chat.Completions.NewStreaming(ctx, params)
			var acc oai.ChatCompletionAccumulator
			finished := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				if tc, ok := acc.JustFinishedToolCall(); ok {
					finished++
					if tc.Name != synth.ToolName || !sameJSON(tc.Arguments, synth.ToolArguments) {
						t.Errorf("streamed call %+v", tc)
					}
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 1 {
				t.Fatalf("streamed turn %+v", acc.ChatCompletion)
			}
			if finished != 1 {
				t.Errorf("%d finished tool calls seen while streaming", finished)
			}
			sid := acc.Choices[0].Message.ToolCalls[0].ID
			if sid == "" || sid == call.ID {
				t.Errorf("streamed call id %q, first call id %q: ids must be unique", sid, call.ID)
			}

			// The result goes back; the model answers the longer conversation.
			params.Messages = append(params.Messages, ch.Message.ToParam(), oai.ToolMessage(`{"temperature_c": 18, "sky": "clear"}`, call.ID))
			second, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("second turn: %v", err)
			}
			if second.Usage.PromptTokens <= resp.Usage.PromptTokens+10 {
				t.Errorf("second prompt %d tokens, first %d: the call and result were not rendered", second.Usage.PromptTokens, resp.Usage.PromptTokens)
			}
			c2 := second.Choices[0]
			if c2.FinishReason != "tool_calls" || len(c2.Message.ToolCalls) != 1 || c2.Message.ToolCalls[0].ID == call.ID {
				t.Errorf("second turn %s", second.RawJSON())
			}
		})
	}
}

// TestToolChoice checks tool_choice against the tool-call model: none
// leaves the tools out and parses nothing (the model still writes its
// planted call, which must stay text), required starts the answer with
// <tool_call> and the model completes the call. (A named tool is forced
// with its name already written, which the synthetic model's planted
// chain cannot continue; the driver's tests check that prompt.)
func TestToolChoice(t *testing.T) {
	ts := startServer(t, Config{Model: synthModel(t, synth.ArchQwen2, true), Engine: engineCtx(2048)})
	body := func(choice any) map[string]any {
		return map[string]any{
			"messages":    []any{map[string]any{"role": "user", "content": "weather?"}},
			"tools":       []any{map[string]any{"type": "function", "function": map[string]any{"name": synth.ToolName, "parameters": map[string]any{"type": "object"}}}},
			"tool_choice": choice,
			"temperature": 0, "max_tokens": 64,
		}
	}
	none := ts.call(t, "POST", "/v1/chat/completions", body("none"), "").json(t)
	ch := none["choices"].([]any)[0].(map[string]any)
	msg := ch["message"].(map[string]any)
	if msg["tool_calls"] != nil || ch["finish_reason"] != "stop" || !strings.Contains(msg["content"].(string), synth.ToolName) {
		t.Errorf("tool_choice none: %v", ch)
	}
	for _, choice := range []any{"required", "auto", nil} {
		got := ts.call(t, "POST", "/v1/chat/completions", body(choice), "").json(t)
		ch := got["choices"].([]any)[0].(map[string]any)
		msg := ch["message"].(map[string]any)
		calls, _ := msg["tool_calls"].([]any)
		if ch["finish_reason"] != "tool_calls" || len(calls) != 1 {
			t.Errorf("tool_choice %v: %v", choice, got)
		}
		// Beside tool calls, content is null, as OpenAI sends it.
		if content, ok := msg["content"]; !ok || content != nil {
			t.Errorf("tool_choice %v: content %#v (present %v), want null", choice, content, ok)
		}
	}
}

// TestToolCallsThroughTetherClient is the managed driver's path: tether's
// openai client with native tools against the server.
func TestToolCallsThroughTetherClient(t *testing.T) {
	ts := startServer(t, Config{Model: synthModel(t, synth.ArchQwen2, true), Engine: engineCtx(2048)})
	c, err := openai.New(openai.Options{BaseURL: ts.url})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tool := llm.ToolDef{Name: synth.ToolName, InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	req := llm.Request{Messages: []llm.Message{llm.UserMessage("weather in Paris?")}, Tools: []llm.ToolDef{tool}, Temperature: llm.Ptr(0.0), MaxTokens: 64}
	for _, stream := range []bool{false, true} {
		var resp *llm.Response
		if stream {
			resp, err = llm.CompleteFromStream(c.Stream(context.Background(), req))
		} else {
			resp, err = c.Complete(context.Background(), req)
		}
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != synth.ToolName || !sameJSON(string(resp.ToolCalls[0].Input), synth.ToolArguments) {
			t.Errorf("stream=%v: %s", stream, resp)
		}
		req.Messages = append(req.Messages, llm.ToolUseMessage(resp.ToolCalls[0]),
			llm.ToolResultMessage(llm.ToolResult{ToolUseID: resp.ToolCalls[0].ID, Name: synth.ToolName, Content: "18C, clear"}))
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
