package serve

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestChatLogprobs: logprobs and top_logprobs come back for every
// generated token, at once and streamed, their bytes spell the answer,
// and under greedy decoding each token heads its own top list.
func TestChatLogprobs(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey})
	c := officialClient(ts, testKey)
	ctx := context.Background()
	params := chatParams(6)
	params.Logprobs, params.TopLogprobs = oai.Bool(true), oai.Int(3)
	ignoreEOS := option.WithJSONSet("ignore_eos", true)

	check := func(t *testing.T, content []oai.ChatCompletionTokenLogprob, text string) {
		t.Helper()
		if len(content) != 6 {
			t.Fatalf("%d tokens with logprobs, want 6", len(content))
		}
		var spelled []byte
		for _, lp := range content {
			for _, b := range lp.Bytes {
				spelled = append(spelled, byte(b))
			}
			if lp.Logprob > 0 || len(lp.TopLogprobs) != 3 || lp.TopLogprobs[0].Token != lp.Token || lp.TopLogprobs[0].Logprob != lp.Logprob ||
				lp.TopLogprobs[1].Logprob > lp.TopLogprobs[0].Logprob {
				t.Errorf("token %+v", lp)
			}
		}
		if string(spelled) != text {
			t.Errorf("token bytes spell %q, answer %q", spelled, text)
		}
	}
	resp, err := c.Chat.Completions.New(ctx, params, ignoreEOS)
	if err != nil {
		t.Fatal(err)
	}
	check(t, resp.Choices[0].Logprobs.Content, resp.Choices[0].Message.Content)

	stream := c.Chat.Completions.NewStreaming(ctx, params, ignoreEOS)
	var content []oai.ChatCompletionTokenLogprob
	var text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			content = append(content, ch.Logprobs.Content...)
			text.WriteString(ch.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check(t, content, text.String())
	if text.String() != resp.Choices[0].Message.Content {
		t.Errorf("streamed %q, at once %q", text.String(), resp.Choices[0].Message.Content)
	}

	for _, bad := range []string{`"top_logprobs":2`, `"logprobs":true,"top_logprobs":21`} {
		a := ts.call(t, http.MethodPost, "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],`+bad+`}`, testKey)
		if a.status != http.StatusBadRequest || a.errorObject(t)["param"] != "top_logprobs" {
			t.Errorf("%s: %d %s", bad, a.status, a.body)
		}
	}
}

// TestChatChoices: n choices, each its own answer with its own index,
// the prompt counted once, at once and streamed. (That the engine
// evaluates it once is TestIdenticalPromptsAtOnce's.)
func TestChatChoices(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey, Engine: enginePar(3)})
	c := officialClient(ts, testKey)
	ctx := context.Background()
	params := chatParams(8)
	params.Messages = append(params.Messages, oai.UserMessage("a prompt no other test sends"))
	params.N, params.Temperature, params.Seed = oai.Int(3), oai.Float(1), oai.Int(42)

	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 {
		t.Fatalf("%d choices, want 3: %s", len(resp.Choices), resp.RawJSON())
	}
	distinct := map[string]bool{}
	for i, ch := range resp.Choices {
		if ch.Index != int64(i) || ch.Message.Role != "assistant" {
			t.Errorf("choice %d: %+v", i, ch)
		}
		distinct[ch.Message.Content] = true
	}
	if len(distinct) < 2 {
		t.Errorf("three choices with seeds 42, 43, 44 are all %q", resp.Choices[0].Message.Content)
	}
	prompt := resp.Usage.PromptTokens
	if resp.Usage.TotalTokens != prompt+resp.Usage.CompletionTokens || resp.Usage.CompletionTokens < 3 {
		t.Errorf("usage %+v", resp.Usage)
	}

	// The same seeds again, streamed: the same three answers.
	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	var acc oai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 3 {
		t.Fatalf("%d streamed choices", len(acc.Choices))
	}
	for i, ch := range acc.Choices {
		if ch.Message.Content != resp.Choices[i].Message.Content || ch.FinishReason != resp.Choices[i].FinishReason {
			t.Errorf("streamed choice %d %q (%s), at once %q (%s)", i, ch.Message.Content, ch.FinishReason, resp.Choices[i].Message.Content, resp.Choices[i].FinishReason)
		}
	}
	if acc.Usage.PromptTokens != prompt || acc.Usage.CompletionTokens != resp.Usage.CompletionTokens {
		t.Errorf("streamed usage %+v, at once %+v", acc.Usage, resp.Usage)
	}
}

// TestTextCompletionLogprobsAndChoices: the legacy logprobs object and n
// for /v1/completions.
func TestTextCompletionLogprobsAndChoices(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey, Engine: enginePar(2)})
	body := map[string]any{"prompt": "hello there", "max_tokens": 5, "ignore_eos": true, "logprobs": 2, "n": 2, "seed": 1, "temperature": 1}
	a := ts.call(t, http.MethodPost, "/v1/completions", body, testKey)
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var out struct {
		Choices []struct {
			Index    int    `json:"index"`
			Text     string `json:"text"`
			Logprobs struct {
				Tokens        []string             `json:"tokens"`
				TokenLogprobs []float64            `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
				TextOffset    []int                `json:"text_offset"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Choices) != 2 {
		t.Fatalf("%d choices: %s", len(out.Choices), a.body)
	}
	for i, ch := range out.Choices {
		lp := ch.Logprobs
		if ch.Index != i || len(lp.Tokens) != 5 || len(lp.TokenLogprobs) != 5 || len(lp.TopLogprobs) != 5 || len(lp.TextOffset) != 5 {
			t.Fatalf("choice %d: %+v", i, ch)
		}
		if strings.Join(lp.Tokens, "") != ch.Text {
			t.Errorf("tokens %q do not spell %q", lp.Tokens, ch.Text)
		}
		for j, off := range lp.TextOffset {
			if !strings.HasPrefix(ch.Text[off:], lp.Tokens[j]) || lp.TokenLogprobs[j] > 0 || math.IsNaN(lp.TokenLogprobs[j]) {
				t.Errorf("token %d %q at %d, logprob %v", j, lp.Tokens[j], off, lp.TokenLogprobs[j])
			}
		}
	}
	a = ts.call(t, http.MethodPost, "/v1/completions", map[string]any{"prompt": "x", "logprobs": 1, "echo": true}, testKey)
	if a.status != http.StatusBadRequest || a.errorObject(t)["param"] != "logprobs" {
		t.Errorf("logprobs with echo: %d %s", a.status, a.body)
	}
}

// TestTextCompletionConstrained: text completions take the same
// constraints as chat: a GBNF grammar and a JSON Schema.
func TestTextCompletionConstrained(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey})
	for seed := range 4 {
		a := ts.call(t, http.MethodPost, "/v1/completions", map[string]any{"prompt": "hello", "max_tokens": 20, "seed": seed, "temperature": 1, "grammar": `root ::= "yes" | "no"`}, testKey)
		var out struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
		}
		if a.status != http.StatusOK || json.Unmarshal(a.body, &out) != nil || len(out.Choices) != 1 || (out.Choices[0].Text != "yes" && out.Choices[0].Text != "no") {
			t.Fatalf("grammar: %d %s", a.status, a.body)
		}
		a = ts.call(t, http.MethodPost, "/v1/completions", map[string]any{"prompt": "hello", "max_tokens": 60, "seed": seed, "temperature": 1,
			"json_schema": map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer", "minimum": 1, "maximum": 9}}, "required": []string{"n"}, "additionalProperties": false}}, testKey)
		var v struct {
			N *int `json:"n"`
		}
		if a.status != http.StatusOK || json.Unmarshal(a.body, &out) != nil || json.Unmarshal([]byte(out.Choices[0].Text), &v) != nil || v.N == nil || *v.N < 1 || *v.N > 9 {
			t.Fatalf("json_schema: %d %s", a.status, a.body)
		}
	}
}
