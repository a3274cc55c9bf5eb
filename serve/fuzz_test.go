package serve

import (
	"encoding/json"
	"testing"
)

// FuzzChatRequest decodes arbitrary bodies as chat requests: decoding and
// conversion never panic, every refusal is a 4xx in OpenAI's shape, and
// whatever is accepted is a valid driver request.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0.2,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"system","content":"s"},{"role":"developer","content":[{"type":"text","text":"d"}]},{"role":"user","content":null}]}`,
		`{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"reasoning_content":"r","tool_calls":[{"id":"c1","type":"function","function":{"name":"glob","arguments":"{\"pattern\":\"*.go\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"main.go"}],"tools":[{"type":"function","function":{"name":"glob","parameters":{"type":"object"}}}],"tool_choice":"required"}`,
		`{"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"glob"}},"tools":[{"type":"function","function":{"name":"glob"}}]}`,
		`{"messages":[{"role":"user","content":"x"}],"stop":"a","logit_bias":{"5":-100,"7":3},"seed":-1,"top_k":4,"min_p":0.1}`,
		`{"messages":[{"role":"user","content":"x"}],"logit_bias":[[5,false],[6,1.5]],"chat_template_kwargs":{"enable_thinking":false}}`,
		`{"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`,
		`{"messages":"nope"}`, `[]`, `{`, `null`, `{"messages":[{}]}`, `{"max_tokens":-7}`,
		`{"messages":[{"role":"user","content":"x","mood":1}],"user":"u","store":true,"n":1,"logprobs":false,"typical_p":1.0}`,
		`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","strict":true}}],"functions":[]}`,
		`{"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":{"x":1},"stream_options":{"include_obfuscation":true},"parallel_tool_calls":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req chatRequest
		if e := decodeRequest(body, &req, chatFields); e != nil {
			checkRefusal(t, e)
			return
		}
		call, e := req.call()
		if e != nil {
			checkRefusal(t, e)
			return
		}
		if err := call.Validate(); err != nil {
			t.Fatalf("accepted an invalid request: %v\n%s", err, body)
		}
		if _, e := req.maxTokens(); e != nil {
			t.Fatalf("accepted bad max tokens: %v", e)
		}
	})
}

// FuzzCompletionRequest does the same for raw completions' fields.
func FuzzCompletionRequest(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"Once upon","max_tokens":3,"echo":true}`,
		`{"prompt":[1,2,3],"stream":true}`, `{"prompt":[[1,2]]}`, `{"prompt":["a"]}`, `{"prompt":["a","b"]}`,
		`{"prompt":"x","logit_bias":{"x":1}}`, `{"prompt":"x","temperature":1e400}`, `{"prompt":{}}`,
		`{"prompt":"x","suffix":"","best_of":1,"logprobs":0,"user":"u"}`, `{"prompt":"x","suffix":"y"}`, `{"prompt":"x","mirostat":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req completionRequest
		if e := decodeRequest(body, &req, completionFields); e != nil {
			checkRefusal(t, e)
			return
		}
		if _, e := req.sampling(); e != nil {
			checkRefusal(t, e)
		}
	})
}

func checkRefusal(t *testing.T, e *apiError) {
	t.Helper()
	if e.Status < 400 || e.Status > 499 || e.Message == "" || e.Type == "" {
		t.Fatalf("refusal %+v is not a 4xx with a message and type", e)
	}
	b, err := json.Marshal(e.body())
	if err != nil {
		t.Fatalf("error body does not encode: %v", err)
	}
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Error.Code == "" {
		t.Fatalf("error code is not a string: %s", b)
	}
}
