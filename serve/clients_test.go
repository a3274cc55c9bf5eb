package serve

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

const testKey = "sekrit-key"

func officialClient(ts *testServer, key string) oai.Client {
	return oai.NewClient(option.WithBaseURL(ts.url+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func chatParams(maxTokens int64) oai.ChatCompletionNewParams {
	return oai.ChatCompletionNewParams{
		Model:       "tiny-chatml",
		Messages:    []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("You are terse."), oai.UserMessage("hello there, tell me the weather")},
		MaxTokens:   oai.Int(maxTokens),
		Temperature: oai.Float(0),
	}
}

// TestOfficialClient drives the server with OpenAI's Go client: a chat
// completion at once and streamed (with usage), and text completions.
func TestOfficialClient(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey})
	c := officialClient(ts, testKey)
	ctx := context.Background()
	ignoreEOS := option.WithJSONSet("ignore_eos", true)

	resp, err := c.Chat.Completions.New(ctx, chatParams(12), ignoreEOS)
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].FinishReason != "length" || resp.Usage.CompletionTokens != 12 || resp.Usage.PromptTokens < 10 ||
		resp.Usage.TotalTokens != resp.Usage.PromptTokens+12 || resp.Object != "chat.completion" || resp.Model != "tiny-chatml" || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("chat completion %s", resp.RawJSON())
	}
	if resp.Choices[0].Message.Role != "assistant" || resp.Choices[0].Message.Content == "" {
		t.Errorf("role %q", resp.Choices[0].Message.Role)
	}

	params := chatParams(12)
	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(ctx, params, ignoreEOS)
	var acc oai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if chunks < 3 || len(acc.Choices) != 1 {
		t.Fatalf("%d chunks, accumulated %+v", chunks, acc.ChatCompletion)
	}
	if got, want := acc.Choices[0].Message.Content, resp.Choices[0].Message.Content; got != want {
		t.Errorf("streamed content %q, at once %q (greedy: they must agree)", got, want)
	}
	if acc.Choices[0].FinishReason != "length" || acc.Usage.CompletionTokens != 12 || acc.Usage.PromptTokens != resp.Usage.PromptTokens {
		t.Errorf("stream finish %q usage %+v", acc.Choices[0].FinishReason, acc.Usage)
	}

	comp, err := c.Completions.New(ctx, oai.CompletionNewParams{
		Model:       oai.CompletionNewParamsModel("tiny-chatml"),
		Prompt:      oai.CompletionNewParamsPromptUnion{OfString: oai.String("Once upon a time")},
		MaxTokens:   oai.Int(6),
		Temperature: oai.Float(0),
	}, ignoreEOS)
	if err != nil {
		t.Fatalf("completion: %v", err)
	}
	if len(comp.Choices) != 1 || comp.Choices[0].FinishReason != "length" || comp.Usage.CompletionTokens != 6 || comp.Object != "text_completion" {
		t.Errorf("completion %s", comp.RawJSON())
	}
	cs := c.Completions.NewStreaming(ctx, oai.CompletionNewParams{
		Model:       oai.CompletionNewParamsModel("tiny-chatml"),
		Prompt:      oai.CompletionNewParamsPromptUnion{OfString: oai.String("Once upon a time")},
		MaxTokens:   oai.Int(6),
		Temperature: oai.Float(0),
	}, ignoreEOS)
	var text strings.Builder
	finish := ""
	for cs.Next() {
		for _, ch := range cs.Current().Choices {
			text.WriteString(ch.Text)
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
	}
	if err := cs.Err(); err != nil {
		t.Fatalf("completion stream: %v", err)
	}
	if text.String() != comp.Choices[0].Text || finish != "length" {
		t.Errorf("streamed completion %q (%s), at once %q", text.String(), finish, comp.Choices[0].Text)
	}

	models, err := c.Models.List(ctx)
	if err != nil || len(models.Data) != 1 || models.Data[0].ID != "tiny-chatml" {
		t.Errorf("models: %v %+v", err, models)
	}

	wrong := officialClient(ts, "wrong")
	_, err = wrong.Chat.Completions.New(ctx, chatParams(2))
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("wrong key: %v", err)
	}
}

// TestTetherClient drives the server with tether's own client, as the
// managed driver does, over TCP and over a unix socket.
func TestTetherClient(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey})
	run := func(t *testing.T, base string) {
		c, err := openai.New(openai.Options{BaseURL: base, APIKey: testKey, Model: "tiny-chatml"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := llm.Request{System: "You are terse.", Messages: []llm.Message{llm.UserMessage("hello there")}, MaxTokens: 6, Temperature: llm.Ptr(0.0)}
		resp, err := c.Complete(context.Background(), req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if resp.Text == "" || resp.Usage.InputTokens == 0 || resp.Timings.GeneratedTokens != 6 || resp.StopReason != llm.StopMaxTokens {
			t.Errorf("response %s usage %+v timings %+v", resp, resp.Usage, resp.Timings)
		}
		var text strings.Builder
		var done *llm.Response
		for ev, err := range c.Stream(context.Background(), req) {
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			switch ev.Kind {
			case llm.EventTextDelta:
				text.WriteString(ev.Text)
			case llm.EventDone:
				done = ev.Response
			}
		}
		if done == nil || done.Text != resp.Text || text.String() != resp.Text || done.Usage != resp.Usage {
			t.Errorf("stream %v (deltas %q), complete %v", done, text.String(), resp)
		}
		models, err := c.Models(context.Background())
		if err != nil || len(models) != 1 || models[0].ContextLength != 512 {
			t.Errorf("models %+v %v", models, err)
		}
		if _, err := c.Get(context.Background(), "/props"); err != nil {
			t.Errorf("/props with the key: %v", err)
		}
		big := req
		big.Messages = []llm.Message{llm.UserMessage(strings.Repeat("tell me the weather ", 200))}
		_, err = c.Complete(context.Background(), big)
		var ov *llm.ContextOverflowError
		if !errors.As(err, &ov) || ov.Available != 512 || ov.Required <= 512 {
			t.Errorf("overflow: %v", err)
		}
	}
	t.Run("tcp", func(t *testing.T) { run(t, ts.url) })
	t.Run("unix socket", func(t *testing.T) {
		sock := t.TempDir() + "/tether.sock"
		ln, err := Listen(sock, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- ts.Serve(ctx, ln) }()
		defer func() { cancel(); <-served }()
		if URL(ln) != "unix://"+sock {
			t.Errorf("URL %q", URL(ln))
		}
		run(t, URL(ln))
	})
}

// TestReasoning serves a model whose template opens a <think> block in
// the prompt (QwQ's), so that everything the model writes before </think>
// is reasoning: it comes back in reasoning_content, whole and streamed,
// and tether's client reads it as reasoning.
func TestReasoning(t *testing.T) {
	ts := startServer(t, Config{Model: sharedModel(t, "qwq")})
	body := chatBody(map[string]any{"max_tokens": 8})
	msg := ts.call(t, "POST", "/v1/chat/completions", body, "").json(t)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	reasoning, _ := msg["reasoning_content"].(string)
	if reasoning == "" || msg["content"] != "" {
		t.Fatalf("message %v: want everything in reasoning_content", msg)
	}
	body["stream"] = true
	lines, _ := ts.sseLines(t, context.Background(), "/v1/chat/completions", body, "")
	var streamed strings.Builder
	for l := range lines {
		data, ok := strings.CutPrefix(l, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatal(err)
		}
		for _, c := range chunk.Choices {
			streamed.WriteString(c.Delta.ReasoningContent)
			if c.Delta.Content != "" {
				t.Errorf("content delta %q", c.Delta.Content)
			}
		}
	}
	if streamed.String() != reasoning {
		t.Errorf("streamed reasoning %q, whole %q", streamed.String(), reasoning)
	}
	c, _ := openai.New(openai.Options{BaseURL: ts.url})
	defer c.Close()
	resp, err := c.Complete(context.Background(), llm.Request{Messages: []llm.Message{llm.UserMessage("hello there, tell me the weather")}, MaxTokens: 8, Temperature: llm.Ptr(0.0)})
	if err != nil || resp.Reasoning != reasoning || resp.Text != "" {
		t.Errorf("tether client: %v %v", resp, err)
	}
}

// TestContextFullEndsWithLength: an answer that runs into the end of the
// context window (no max_tokens, as most clients send) ends with
// finish_reason "length" and the text so far, at once and streamed.
func TestContextFullEndsWithLength(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey, Engine: engine.Options{ContextLength: 64}})
	c := officialClient(ts, testKey)
	ctx := context.Background()
	params := chatParams(0)
	params.MaxTokens = oai.Int(-1) // n_predict's "no bound"
	ignoreEOS := option.WithJSONSet("ignore_eos", true)

	resp, err := c.Chat.Completions.New(ctx, params, ignoreEOS)
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].FinishReason != "length" || resp.Choices[0].Message.Content == "" ||
		resp.Usage.TotalTokens != 65 {
		t.Errorf("answer %s, want finish_reason length after filling the 64-token window", resp.RawJSON())
	}

	stream := c.Chat.Completions.NewStreaming(ctx, params, ignoreEOS)
	var acc oai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "length" || acc.Choices[0].Message.Content != resp.Choices[0].Message.Content {
		t.Errorf("streamed answer %+v, want the same text ending with length", acc.Choices)
	}
}
