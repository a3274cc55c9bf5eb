package serve

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestErrorAnswers checks the status and OpenAI error shape of every
// kind of bad request.
func TestErrorAnswers(t *testing.T) {
	ts := startServer(t, Config{APIKey: testKey, MaxBodyBytes: 64 << 10, StrictModel: true})
	long := chatBody(map[string]any{"messages": []any{map[string]any{"role": "user", "content": strings.Repeat("tell me the weather ", 200)}}})
	cases := []struct {
		name         string
		method, path string
		body         any
		key          string
		status       int
		typ, code    string
		param        string
	}{
		{name: "malformed JSON", method: "POST", path: "/v1/chat/completions", body: `{"messages": [`, key: testKey, status: 400, typ: "invalid_request_error", code: "invalid_json"},
		{name: "empty body", method: "POST", path: "/v1/chat/completions", body: ``, key: testKey, status: 400, typ: "invalid_request_error", code: "invalid_json"},
		{name: "not an object", method: "POST", path: "/v1/chat/completions", body: `[1,2]`, key: testKey, status: 400, typ: "invalid_request_error", code: "invalid_json"},
		{name: "wrong field type", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, key: testKey, status: 400, param: "temperature", code: "invalid_value"},
		{name: "no messages", method: "POST", path: "/v1/chat/completions", body: `{"messages":[]}`, key: testKey, status: 400, param: "messages"},
		{name: "unknown role", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"robot","content":"x"}]}`, key: testKey, status: 400, param: "messages[0].role"},
		{name: "image content", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, key: testKey, status: 400, code: "unsupported_parameter"},
		{name: "bad tool arguments", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, key: testKey, status: 400, param: "messages[0].tool_calls[0].function.arguments"},
		{name: "bad tool_choice", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"tool_choice":"always"}`, key: testKey, status: 400, param: "tool_choice"},
		{name: "named tool not given", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"f"}}}`, key: testKey, status: 400},
		{name: "n of 17", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"n":17}`, key: testKey, status: 400, param: "n"},
		{name: "temperature out of range", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"temperature":-1}`, key: testKey, status: 400, code: "invalid_request"},
		{name: "stop of the wrong type", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"stop":7}`, key: testKey, status: 400, param: "stop"},
		{name: "logit bias out of vocabulary", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"logit_bias":{"99999999":5}}`, key: testKey, status: 400},
		{name: "unsupported schema", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","pattern":"(a)\\1"}}}}`, key: testKey, status: 400},
		{name: "two constraints", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"},"grammar":"root ::= \"a\""}`, key: testKey, status: 400, param: "response_format"},
		{name: "unknown model", method: "POST", path: "/v1/chat/completions", body: chatBody(map[string]any{"model": "gpt-4o"}), key: testKey, status: 404, code: "model_not_found", param: "model"},
		{name: "context overflow", method: "POST", path: "/v1/chat/completions", body: long, key: testKey, status: 400, typ: "exceed_context_size_error", code: "context_length_exceeded"},
		{name: "raw prompt overflow", method: "POST", path: "/v1/completions", body: map[string]any{"prompt": strings.Repeat("weather ", 600)}, key: testKey, status: 400, typ: "exceed_context_size_error"},
		{name: "oversized body", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 70<<10) + `"}]}`, key: testKey, status: 413, code: "request_too_large"},
		{name: "no key", method: "POST", path: "/v1/chat/completions", body: chatBody(nil), status: 401, typ: "authentication_error", code: "invalid_api_key"},
		{name: "wrong key", method: "POST", path: "/v1/chat/completions", body: chatBody(nil), key: "not-" + testKey, status: 401, typ: "authentication_error"},
		{name: "props without the key", method: "GET", path: "/props", status: 401},
		{name: "metrics without the key", method: "GET", path: "/metrics", status: 401},
		{name: "tokenize without the key", method: "POST", path: "/tokenize", body: `{"content":"x"}`, status: 401},
		{name: "unknown endpoint", method: "GET", path: "/v1/nothing", key: testKey, status: 404, code: "not_found"},
		{name: "wrong method", method: "GET", path: "/v1/chat/completions", key: testKey, status: 405, code: "method_not_allowed"},
		{name: "several prompts", method: "POST", path: "/v1/completions", body: `{"prompt":["a","b"]}`, key: testKey, status: 400, param: "prompt"},
		{name: "bad token in prompt", method: "POST", path: "/v1/completions", body: `{"prompt":[1,-5]}`, key: testKey, status: 400, param: "prompt"},
		{name: "tokenize without content", method: "POST", path: "/tokenize", body: `{}`, key: testKey, status: 400, param: "content"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := ts.call(t, c.method, c.path, c.body, c.key)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			obj := a.errorObject(t)
			if c.typ != "" && obj["type"] != c.typ {
				t.Errorf("type %v, want %s", obj["type"], c.typ)
			}
			if c.code != "" && obj["code"] != c.code {
				t.Errorf("code %v, want %s", obj["code"], c.code)
			}
			if c.param != "" && obj["param"] != c.param {
				t.Errorf("param %v, want %s", obj["param"], c.param)
			}
			if c.typ == "exceed_context_size_error" && (obj["n_ctx"] != 512.0 || obj["n_prompt_tokens"].(float64) <= 512) {
				t.Errorf("overflow counts: %v", obj)
			}
		})
	}
	t.Run("public endpoints need no key", func(t *testing.T) {
		for _, p := range []string{"/health", "/v1/health", "/v1/models", "/models"} {
			if a := ts.call(t, "GET", p, nil, ""); a.status != http.StatusOK {
				t.Errorf("%s without a key: %d", p, a.status)
			}
		}
	})
	t.Run("X-Api-Key", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.url+"/props", nil)
		req.Header.Set("X-Api-Key", testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/props with X-Api-Key: %d", resp.StatusCode)
		}
	})
	if ts.engineIdle() != true {
		t.Errorf("bad requests left work in the engine")
	}
}

// TestErrorCodeIsAString checks that an error without a code of its own
// still sends a string code, whatever its status.
func TestErrorCodeIsAString(t *testing.T) {
	for status := 400; status < 600; status++ {
		e := &apiError{Status: status, Type: "x", Message: "m"}
		b, _ := json.Marshal(e.body())
		var v struct {
			Error struct {
				Code any `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal(b, &v)
		if code, ok := v.Error.Code.(string); !ok || code == "" || strings.ContainsAny(code, " 0123456789") {
			t.Errorf("status %d: code %#v", status, v.Error.Code)
		}
	}
}
