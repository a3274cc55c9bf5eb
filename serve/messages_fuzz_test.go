package serve

import (
	"encoding/json"
	"testing"
)

// FuzzMessagesRequest decodes arbitrary bodies as Messages API requests:
// decoding and conversion never panic, every refusal is a 4xx in
// Anthropic's shape, and whatever is accepted is a valid driver call.
func FuzzMessagesRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":0.9,"top_k":4,"stream":true,"metadata":{"user_id":"u"}}`,
		`{"max_tokens":5,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		`{"max_tokens":50,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"t"},{"type":"tool_use","id":"toolu_1","name":"glob","input":{"pattern":"*.go"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"main.go","is_error":false}]}],"tools":[{"name":"glob","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"}}`,
		`{"max_tokens":50,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"glob","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"glob","disable_parallel_tool_use":true},"thinking":{"type":"enabled","budget_tokens":10}}`,
		`{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64"}}]}]}`,
		`{"max_tokens":5,"messages":[{"role":"user","content":"x"}],"stop_sequences":["a","b"],"thinking":{"type":"disabled"}}`,
		`{"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{}}]}`,
		`{"max_tokens":"5"}`, `[]`, `{`, `null`, `{"messages":[{}]}`, `{"max_tokens":-7}`, `{"service_tier":"auto"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := decodeMessagesRequest(body)
		if e != nil {
			checkMsgRefusal(t, e)
			return
		}
		for _, count := range []bool{false, true} {
			call, _, e := messagesCall(req, count)
			if e != nil {
				checkMsgRefusal(t, e)
				continue
			}
			if err := call.Validate(); err != nil {
				t.Fatalf("accepted an invalid call: %v\n%s", err, body)
			}
			if !count && call.MaxTokens < 1 {
				t.Fatalf("accepted max_tokens %d", call.MaxTokens)
			}
			if call.EnableThinking == nil {
				t.Fatalf("thinking left to the template")
			}
		}
	})
}

func checkMsgRefusal(t *testing.T, e *msgError) {
	t.Helper()
	if e.status != 400 || e.message == "" || e.typ != "invalid_request_error" {
		t.Fatalf("refusal %+v is not a 400 invalid_request_error with a message", e)
	}
	if _, err := json.Marshal(e.body()); err != nil {
		t.Fatalf("error body does not encode: %v", err)
	}
}
