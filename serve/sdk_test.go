package serve

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireClientsEnv makes missing Node SDKs a failure instead of a skip;
// CI sets it after installing them.
const requireClientsEnv = "TETHER_REQUIRE_CLIENTS"

// nodeSDK runs one scenario of a script in tools/clients (real client
// SDKs from npm) against ts and decodes the JSON it prints into out. A
// scenario that throws prints {"error": …}, which sdkError reads.
func nodeSDK(t *testing.T, ts *testServer, script, scenario string, out any) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "tools", "clients"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules"))
	}
	if err != nil {
		if os.Getenv(requireClientsEnv) == "1" {
			t.Fatalf("client SDKs unavailable: %v (run npm ci in tools/clients)", err)
		}
		t.Skipf("client SDKs unavailable: %v (run npm ci in tools/clients; %s=1 makes this a failure)", err, requireClientsEnv)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(dir, script), scenario)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TETHER_URL="+ts.url, "TETHER_KEY="+testKey, "TETHER_MODEL=tiny-chatml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, scenario, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("%s %s printed %q: %v", script, scenario, stdout, err)
	}
}

// sdkError is what a scenario prints when the SDK threw.
type sdkError struct {
	Error *struct {
		Name    string `json:"name"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

func (e sdkError) check(t *testing.T, scenario string) {
	t.Helper()
	if e.Error != nil {
		t.Fatalf("%s: the SDK threw %s (status %d): %s", scenario, e.Error.Name, e.Error.Status, e.Error.Message)
	}
}

// TestOpenAINodeSDK drives the server with OpenAI's official Node SDK.
func TestOpenAINodeSDK(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey})
	t.Run("chat", func(t *testing.T) {
		var r struct {
			sdkError
			Object  string `json:"object"`
			Choices []struct {
				FinishReason string `json:"finish_reason"`
				Message      struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
			Usage struct {
				PromptTokens, CompletionTokens, TotalTokens int
			} `json:"usage"`
		}
		nodeSDK(t, ts, "openai.mjs", "chat", &r)
		r.check(t, "chat")
		if r.Object != "chat.completion" || len(r.Choices) != 1 || r.Choices[0].Message.Role != "assistant" {
			t.Errorf("answer %+v", r)
		}
	})
	t.Run("stream", func(t *testing.T) {
		var r struct {
			sdkError
			Text   string `json:"text"`
			Finish string `json:"finish"`
			Usage  *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		nodeSDK(t, ts, "openai.mjs", "stream", &r)
		r.check(t, "stream")
		if r.Finish == "" || r.Usage == nil || r.Usage.CompletionTokens == 0 {
			t.Errorf("stream %+v", r)
		}
	})
	t.Run("any model name", func(t *testing.T) {
		var r struct {
			sdkError
			Model   string            `json:"model"`
			Choices []json.RawMessage `json:"choices"`
		}
		nodeSDK(t, ts, "openai.mjs", "anyModelName", &r)
		r.check(t, "anyModelName")
		if len(r.Choices) != 1 {
			t.Errorf("answer to gpt-4o-mini: %+v", r)
		}
	})
	t.Run("logprobs", func(t *testing.T) {
		type token struct {
			Token       string  `json:"token"`
			Logprob     float64 `json:"logprob"`
			Bytes       []int   `json:"bytes"`
			TopLogprobs []token `json:"top_logprobs"`
		}
		var r struct {
			sdkError
			Choices []struct {
				Logprobs struct {
					Content []token `json:"content"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		nodeSDK(t, ts, "openai.mjs", "logprobs", &r)
		r.check(t, "logprobs")
		if len(r.Choices) != 1 || len(r.Choices[0].Logprobs.Content) == 0 {
			t.Fatalf("answer %+v", r)
		}
		for _, tok := range r.Choices[0].Logprobs.Content {
			if len(tok.TopLogprobs) != 3 || tok.Logprob > 0 || len(tok.Bytes) == 0 {
				t.Errorf("token %+v", tok)
			}
		}
		var s struct {
			sdkError
			Text    string  `json:"text"`
			Content []token `json:"content"`
		}
		nodeSDK(t, ts, "openai.mjs", "streamLogprobs", &s)
		s.check(t, "streamLogprobs")
		var spelled []byte
		for _, tok := range s.Content {
			for _, b := range tok.Bytes {
				spelled = append(spelled, byte(b))
			}
		}
		if len(s.Content) != 5 || string(spelled) != s.Text {
			t.Errorf("streamed %q with %d tokens spelling %q", s.Text, len(s.Content), spelled)
		}
	})
	t.Run("n choices", func(t *testing.T) {
		var r struct {
			sdkError
			Choices []struct {
				Index int `json:"index"`
			} `json:"choices"`
		}
		nodeSDK(t, ts, "openai.mjs", "choices", &r)
		r.check(t, "choices")
		if len(r.Choices) != 3 || r.Choices[2].Index != 2 {
			t.Errorf("choices %+v", r.Choices)
		}
	})
	// Structured output: the random model can only write what the
	// grammar allows, so the SDKs' own parsing and validation pass.
	t.Run("json mode", func(t *testing.T) {
		var r struct {
			sdkError
			Finish string         `json:"finish"`
			Value  map[string]any `json:"value"`
		}
		nodeSDK(t, ts, "openai.mjs", "jsonMode", &r)
		r.check(t, "jsonMode")
		if r.Finish != "stop" || r.Value == nil {
			t.Errorf("JSON mode: %+v", r)
		}
	})
	t.Run("parse with a zod schema", func(t *testing.T) {
		var r struct {
			sdkError
			Finish string `json:"finish"`
			Parsed *struct {
				Name string   `json:"name"`
				Age  int      `json:"age"`
				Tags []string `json:"tags"`
			} `json:"parsed"`
		}
		nodeSDK(t, ts, "openai.mjs", "parse", &r)
		r.check(t, "parse")
		if r.Finish != "stop" || r.Parsed == nil || len(r.Parsed.Name) > 12 || r.Parsed.Age < 0 || r.Parsed.Age > 150 || len(r.Parsed.Tags) > 3 {
			t.Errorf(".parse(): %+v", r)
		}
	})
	t.Run("required strict tool", func(t *testing.T) {
		var r struct {
			sdkError
			Finish  string  `json:"finish"`
			Content *string `json:"content"`
			Calls   []struct {
				Name string `json:"name"`
				Args struct {
					City *string `json:"city"`
					Days *int    `json:"days"`
				} `json:"args"`
			} `json:"calls"`
		}
		nodeSDK(t, ts, "openai.mjs", "requiredTool", &r)
		r.check(t, "requiredTool")
		if r.Finish != "tool_calls" || r.Content != nil || len(r.Calls) != 1 || r.Calls[0].Name != "get_weather" ||
			r.Calls[0].Args.City == nil || len(*r.Calls[0].Args.City) > 16 || r.Calls[0].Args.Days == nil || *r.Calls[0].Args.Days < 1 || *r.Calls[0].Args.Days > 7 {
			t.Errorf("forced call: %+v", r)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		var r sdkError
		nodeSDK(t, ts, "openai.mjs", "badKey", &r)
		if r.Error == nil || r.Error.Name != "AuthenticationError" || r.Error.Status != 401 {
			t.Errorf("bad key: %+v, want the SDK's AuthenticationError", r.Error)
		}
	})
}

// TestVercelAISDK drives the server with the Vercel AI SDK's
// OpenAI-compatible provider.
func TestVercelAISDK(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey})
	t.Run("generateObject", func(t *testing.T) {
		var r struct {
			sdkError
			Object *struct {
				Name string `json:"name"`
				Age  int    `json:"age"`
			} `json:"object"`
		}
		nodeSDK(t, ts, "openai.mjs", "aiObject", &r)
		r.check(t, "aiObject")
		if r.Object == nil || len(r.Object.Name) > 12 {
			t.Errorf("generateObject: %+v", r)
		}
	})
	t.Run("required tool", func(t *testing.T) {
		var r struct {
			sdkError
			Calls []struct {
				Name  string `json:"name"`
				Input struct {
					City *string `json:"city"`
				} `json:"input"`
			} `json:"calls"`
		}
		nodeSDK(t, ts, "openai.mjs", "aiTool", &r)
		r.check(t, "aiTool")
		if len(r.Calls) == 0 || r.Calls[0].Name != "get_weather" || r.Calls[0].Input.City == nil {
			t.Errorf("tool call: %+v", r)
		}
	})
	for _, scenario := range []string{"aiText", "aiStream"} {
		t.Run(scenario, func(t *testing.T) {
			var r struct {
				sdkError
				FinishReason any `json:"finishReason"`
				Usage        struct {
					OutputTokens int `json:"outputTokens"`
				} `json:"usage"`
			}
			nodeSDK(t, ts, "openai.mjs", scenario, &r)
			r.check(t, scenario)
			if r.FinishReason == nil || r.Usage.OutputTokens == 0 {
				t.Errorf("%s: %+v", scenario, r)
			}
		})
	}
}
