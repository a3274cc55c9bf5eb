package serve

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/tetherllm/tether/engine/synth"
)

// anthropicSDK is Anthropic's official Go client for the server, with
// greedy sampling (the SDK's parameters have no temperature, so it is
// set in the body) and no retries.
func anthropicSDK(ts *testServer, key string) sdk.Client {
	return sdk.NewClient(option.WithBaseURL(ts.url), option.WithAPIKey(key), option.WithMaxRetries(0))
}

var greedy = option.WithJSONSet("temperature", 0)

// TestAnthropicSDK drives /v1/messages with Anthropic's Go SDK: a
// message, the same streamed and put together by the SDK's accumulator,
// CountTokens, and an authentication error as the SDK's error type.
func TestAnthropicSDK(t *testing.T) {
	ts := startServer(t, Config{APIKey: "sekrit"})
	c := anthropicSDK(ts, "sekrit")
	ctx := context.Background()
	params := sdk.MessageNewParams{
		Model:     "tiny-chatml",
		MaxTokens: 8,
		System:    []sdk.TextBlockParam{{Text: "You are terse."}},
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hello there, tell me the weather"))},
	}
	msg, err := c.Messages.New(ctx, params, greedy)
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	if !strings.HasPrefix(msg.ID, "msg_") || msg.StopReason != sdk.StopReasonMaxTokens || len(msg.Content) != 1 || msg.Usage.OutputTokens != 8 || msg.Usage.InputTokens == 0 {
		t.Fatalf("message %s", msg.RawJSON())
	}
	text := msg.Content[0].AsText().Text
	if text == "" {
		t.Fatalf("no text: %s", msg.RawJSON())
	}

	stream := c.Messages.NewStreaming(ctx, params, greedy)
	var acc sdk.Message
	kinds := map[string]int{}
	for stream.Next() {
		ev := stream.Current()
		kinds[ev.Type]++
		if err := acc.Accumulate(ev); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if kinds["message_start"] != 1 || kinds["message_stop"] != 1 || kinds["message_delta"] != 1 || kinds["content_block_start"] != 1 || kinds["content_block_delta"] == 0 {
		t.Errorf("events %v", kinds)
	}
	if acc.ID == msg.ID || len(acc.Content) != 1 || acc.Content[0].AsText().Text != text || acc.StopReason != sdk.StopReasonMaxTokens ||
		acc.Usage.OutputTokens != 8 || acc.Usage.InputTokens != msg.Usage.InputTokens {
		t.Errorf("accumulated %s\ncomplete %s", acc.RawJSON(), msg.RawJSON())
	}

	n, err := c.Messages.CountTokens(ctx, sdk.MessageCountTokensParams{
		Model:    params.Model,
		System:   sdk.MessageCountTokensParamsSystemUnion{OfTextBlockArray: params.System},
		Messages: params.Messages,
	})
	if err != nil || n.InputTokens != msg.Usage.InputTokens {
		t.Errorf("CountTokens %+v %v, message input_tokens %d", n, err, msg.Usage.InputTokens)
	}

	wrong := anthropicSDK(ts, "wrong")
	_, err = wrong.Messages.New(ctx, params)
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || !strings.Contains(apiErr.RawJSON(), "authentication_error") {
		t.Errorf("wrong key: %v", err)
	}
	params.Messages = append(params.Messages, sdk.NewUserMessage(sdk.NewImageBlockBase64("image/png", "AAAA")))
	_, err = c.Messages.New(ctx, params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.RawJSON(), "messages[1].content[0].type") {
		t.Errorf("image: %v", err)
	}
}

// TestAnthropicSDKTools runs a tool use round trip with the SDK: the
// model calls the tool, the SDK's own ToParam sends the call back with
// its result, the model answers the longer conversation; streamed, the
// accumulator assembles the call from input_json_delta.
func TestAnthropicSDKTools(t *testing.T) {
	ts := startServer(t, Config{Model: synthModel(t, synth.ArchQwen2, true), Engine: engineCtx(2048)})
	c := anthropicSDK(ts, "")
	ctx := context.Background()
	tool := sdk.ToolUnionParamOfTool(sdk.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}, synth.ToolName)
	params := sdk.MessageNewParams{
		Model:     ts.ID(),
		MaxTokens: 64,
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("What is the weather in Paris?"))},
		Tools:     []sdk.ToolUnionParam{tool},
	}
	msg, err := c.Messages.New(ctx, params, greedy)
	if err != nil {
		t.Fatal(err)
	}
	var use sdk.ToolUseBlock
	for _, b := range msg.Content {
		if b.Type == "tool_use" {
			use = b.AsToolUse()
		}
	}
	if msg.StopReason != sdk.StopReasonToolUse || use.Name != synth.ToolName || !strings.HasPrefix(use.ID, "toolu_") || !sameJSON(string(use.Input), synth.ToolArguments) {
		t.Fatalf("first turn %s", msg.RawJSON())
	}

	stream := c.Messages.NewStreaming(ctx, params, greedy)
	var acc sdk.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	last := acc.Content[len(acc.Content)-1]
	if acc.StopReason != sdk.StopReasonToolUse || last.Type != "tool_use" || last.Name != synth.ToolName || !sameJSON(string(last.Input), synth.ToolArguments) || last.ID == use.ID {
		t.Errorf("streamed turn %s", acc.RawJSON())
	}

	params.Messages = append(params.Messages, msg.ToParam(), sdk.NewUserMessage(sdk.NewToolResultBlock(use.ID, `{"temperature_c": 18}`, false)))
	second, err := c.Messages.New(ctx, params, greedy)
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if second.Usage.InputTokens <= msg.Usage.InputTokens+10 || second.StopReason != sdk.StopReasonToolUse {
		t.Errorf("second turn %s", second.RawJSON())
	}

	params.ToolChoice = sdk.ToolChoiceUnionParam{OfNone: &sdk.ToolChoiceNoneParam{}}
	none, err := c.Messages.New(ctx, params, greedy)
	if err != nil || none.StopReason == sdk.StopReasonToolUse {
		t.Errorf("tool_choice none: %v %v", none, err)
	}
}
