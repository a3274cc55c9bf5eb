package serve

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	goai "github.com/sashabaranov/go-openai"

	"github.com/tetherllm/tether/engine/synth"
)

// goOpenAIClient is github.com/sashabaranov/go-openai pointed at ts.
func goOpenAIClient(ts *testServer, key string) *goai.Client {
	cfg := goai.DefaultConfig(key)
	cfg.BaseURL = ts.url + "/v1"
	return goai.NewClientWithConfig(cfg)
}

// TestGoOpenAIModelNames drives the server with go-openai, whose users
// often keep OpenAI's model names: any name is served by the one model,
// and the answer names the model that wrote it.
func TestGoOpenAIModelNames(t *testing.T) {
	ts := startServer(t, Config{Alias: "tiny"})
	c := goOpenAIClient(ts, "")
	ctx := context.Background()
	seed := 7
	for _, name := range []string{goai.GPT4oMini, "tiny", ""} {
		resp, err := c.CreateChatCompletion(ctx, goai.ChatCompletionRequest{
			Model:     name,
			Messages:  []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "hello there"}},
			MaxTokens: 4,
			Seed:      &seed,
		})
		if err != nil {
			t.Fatalf("model %q: %v", name, err)
		}
		if resp.Model != "tiny" || len(resp.Choices) != 1 || resp.Usage.CompletionTokens == 0 {
			t.Errorf("model %q: answer %+v", name, resp)
		}
		stream, err := c.CreateChatCompletionStream(ctx, goai.ChatCompletionRequest{
			Model:     name,
			Messages:  []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "hello there"}},
			MaxTokens: 4,
			Seed:      &seed,
			Stream:    true,
		})
		if err != nil {
			t.Fatalf("model %q stream: %v", name, err)
		}
		chunks := 0
		for {
			ch, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("model %q stream: %v", name, err)
			}
			if ch.Model != "tiny" {
				t.Errorf("chunk model %q", ch.Model)
			}
			chunks++
		}
		stream.Close()
		if chunks < 2 {
			t.Errorf("model %q: %d chunks", name, chunks)
		}
	}

	for _, id := range []string{goai.GPT4oMini, "tiny"} {
		if m, err := c.GetModel(ctx, id); err != nil || m.ID != "tiny" || m.Object != "model" {
			t.Errorf("GetModel(%q): %+v %v", id, m, err)
		}
	}
	if list, err := c.ListModels(ctx); err != nil || len(list.Models) != 1 || list.Models[0].ID != "tiny" {
		t.Errorf("ListModels: %+v %v", list, err)
	}

	strict := startServer(t, Config{Alias: "tiny", StrictModel: true})
	if _, err := goOpenAIClient(strict, "").GetModel(ctx, goai.GPT4oMini); err == nil {
		t.Errorf("strict: GetModel of another model succeeded")
	}
	_, err := goOpenAIClient(strict, "").CreateChatCompletion(ctx, goai.ChatCompletionRequest{
		Model:    goai.GPT4oMini,
		Messages: []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "hello"}},
	})
	var apiErr *goai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Param == nil || *apiErr.Param != "model" {
		t.Errorf("strict, unknown model: %v (%+v)", err, apiErr)
	}
}

// TestGoOpenAIErrors checks that go-openai reads tether's errors: the
// status, a string code, the param.
func TestGoOpenAIErrors(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey, StrictModel: true})
	ctx := context.Background()
	msgs := []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "hello"}}
	for _, c := range []struct {
		name   string
		key    string
		req    goai.ChatCompletionRequest
		status int
		code   string
		param  string
	}{
		{"wrong key", "wrong", goai.ChatCompletionRequest{Messages: msgs}, 401, "invalid_api_key", ""},
		{"unknown model", testKey, goai.ChatCompletionRequest{Model: "gpt-4o", Messages: msgs}, 404, "model_not_found", "model"},
		{"no messages", testKey, goai.ChatCompletionRequest{}, 400, "invalid_value", "messages"},
		{"bad role", testKey, goai.ChatCompletionRequest{Messages: []goai.ChatCompletionMessage{{Role: "robot", Content: "x"}}}, 400, "invalid_value", "messages[0].role"},
		{"context overflow", testKey, goai.ChatCompletionRequest{Messages: []goai.ChatCompletionMessage{{Role: "user", Content: strings.Repeat("tell me the weather ", 200)}}}, 400, "context_length_exceeded", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := goOpenAIClient(ts, c.key).CreateChatCompletion(ctx, c.req)
			var apiErr *goai.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an APIError", err)
			}
			if apiErr.HTTPStatusCode != c.status || apiErr.Code != c.code || apiErr.Message == "" {
				t.Errorf("status %d code %#v message %q, want %d %q", apiErr.HTTPStatusCode, apiErr.Code, apiErr.Message, c.status, c.code)
			}
			if c.param != "" && (apiErr.Param == nil || *apiErr.Param != c.param) {
				t.Errorf("param %v, want %s", apiErr.Param, c.param)
			}
		})
	}
}

// TestGoOpenAITools runs a tool call with go-openai: the call comes back
// whole and streamed, and the client's result is accepted.
func TestGoOpenAITools(t *testing.T) {
	ts := startServer(t, Config{Model: synthModel(t, synth.ArchQwen2, true), Engine: engineCtx(2048)})
	c := goOpenAIClient(ts, "")
	ctx := context.Background()
	seed := 1
	req := goai.ChatCompletionRequest{
		Model:    "gpt-4o-mini",
		Messages: []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "What is the weather in Paris?"}},
		Tools: []goai.Tool{{Type: goai.ToolTypeFunction, Function: &goai.FunctionDefinition{
			Name:       synth.ToolName,
			Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
		MaxTokens: 64,
		Seed:      &seed,
	}
	// go-openai leaves out a zero temperature; a tiny one is as good as
	// greedy for the planted call's margin.
	greedy := func(r goai.ChatCompletionRequest) goai.ChatCompletionRequest {
		r.Temperature = 1e-6
		return r
	}
	resp, err := c.CreateChatCompletion(ctx, greedy(req))
	if err != nil {
		t.Fatalf("tool call: %v", err)
	}
	ch := resp.Choices[0]
	if ch.FinishReason != goai.FinishReasonToolCalls || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("answer %+v", resp)
	}
	call := ch.Message.ToolCalls[0]
	if call.Function.Name != synth.ToolName || !sameJSON(call.Function.Arguments, synth.ToolArguments) || call.ID == "" || call.Type != goai.ToolTypeFunction {
		t.Errorf("call %+v", call)
	}

	req.Stream = true
	stream, err := c.CreateChatCompletionStream(ctx, greedy(req))
	if err != nil {
		t.Fatal(err)
	}
	var name, args, finish string
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		for _, d := range chunk.Choices {
			for _, tc := range d.Delta.ToolCalls {
				name += tc.Function.Name
				args += tc.Function.Arguments
			}
			if d.FinishReason != "" {
				finish = string(d.FinishReason)
			}
		}
	}
	stream.Close()
	if name != synth.ToolName || !sameJSON(args, synth.ToolArguments) || finish != "tool_calls" {
		t.Errorf("streamed call %q %q, finish %q", name, args, finish)
	}

	req.Stream = false
	req.Messages = append(req.Messages, ch.Message, goai.ChatCompletionMessage{Role: goai.ChatMessageRoleTool, ToolCallID: call.ID, Content: "18C, clear"})
	second, err := c.CreateChatCompletion(ctx, greedy(req))
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if second.Usage.PromptTokens <= resp.Usage.PromptTokens {
		t.Errorf("second prompt %d tokens, first %d", second.Usage.PromptTokens, resp.Usage.PromptTokens)
	}
}
