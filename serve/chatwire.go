package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

// samplingFields are the sampling settings chat and text completions
// share: OpenAI's and llama.cpp's.
type samplingFields struct {
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	TopK                *int     `json:"top_k"`
	MinP                *float64 `json:"min_p"`
	RepeatPenalty       *float64 `json:"repeat_penalty"`
	RepeatLastN         *int     `json:"repeat_last_n"`
	FrequencyPenalty    *float64 `json:"frequency_penalty"`
	PresencePenalty     *float64 `json:"presence_penalty"`
	Seed                *int64   `json:"seed"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	NPredict            *int     `json:"n_predict"`
	Stop                stopList `json:"stop"`
	// LogitBias is OpenAI's {"token id": bias} (-100 bans a token) or
	// llama.cpp's [[id, bias], …] with false for a ban.
	LogitBias     json.RawMessage `json:"logit_bias"`
	IgnoreEOS     bool            `json:"ignore_eos"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	N *int `json:"n"`
	// Constrained decoding: OpenAI's response_format, and llama.cpp's
	// grammar (GBNF) and json_schema (a schema alone).
	ResponseFormat *responseFormat `json:"response_format"`
	Grammar        string          `json:"grammar"`
	JSONSchema     json.RawMessage `json:"json_schema"`
}

// responseFormat is OpenAI's response_format.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict *bool           `json:"strict"`
	} `json:"json_schema"`
}

// constraint reads the request's constraint on the answer's text: a
// response format, or llama.cpp's grammar or json_schema, at most one.
func (f *samplingFields) constraint() (*llm.ResponseFormat, string, *apiError) {
	schema := bytes.TrimSpace(f.JSONSchema)
	hasSchema := len(schema) > 0 && string(schema) != "null"
	format := f.ResponseFormat != nil && f.ResponseFormat.Type != "" && f.ResponseFormat.Type != "text"
	if btoi(hasSchema)+btoi(format)+btoi(f.Grammar != "") > 1 {
		return nil, "", badRequest("response_format", "only one of response_format, grammar and json_schema can constrain an answer")
	}
	switch {
	case f.Grammar != "":
		return nil, f.Grammar, nil
	case hasSchema:
		return &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(schema)}, "", nil
	case !format:
		return nil, "", nil
	}
	switch rf := f.ResponseFormat; rf.Type {
	case "json_object":
		return &llm.ResponseFormat{Type: llm.FormatJSONObject}, "", nil
	case "json_schema":
		if rf.JSONSchema == nil || len(bytes.TrimSpace(rf.JSONSchema.Schema)) == 0 {
			return nil, "", badRequest("response_format.json_schema.schema", "response_format json_schema needs json_schema.schema")
		}
		return &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: rf.JSONSchema.Name, Schema: rf.JSONSchema.Schema,
			Strict: rf.JSONSchema.Strict != nil && *rf.JSONSchema.Strict}, "", nil
	}
	return nil, "", badRequest("response_format.type", "response_format type %s is not one of \"text\", \"json_object\", \"json_schema\"", quoteJSON(f.ResponseFormat.Type))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// choices is n, the number of answers to the one prompt.
func (f *samplingFields) choices() int {
	if f.N == nil {
		return 1
	}
	return *f.N
}

// choiceSeed is the seed of choice i: the request's seed moved on by i,
// so that the choices differ and a request with a seed is repeatable.
func (f *samplingFields) choiceSeed(i int) *int64 {
	if f.Seed == nil || *f.Seed < 0 {
		return f.Seed
	}
	return ptr(*f.Seed + int64(i))
}

// maxTokens is the answer's bound: max_completion_tokens, else max_tokens,
// else llama.cpp's n_predict; -1 or unset means none but the context.
func (f *samplingFields) maxTokens() (int, *apiError) {
	for _, p := range []struct {
		name string
		v    *int
	}{{"max_completion_tokens", f.MaxCompletionTokens}, {"max_tokens", f.MaxTokens}, {"n_predict", f.NPredict}} {
		if p.v == nil {
			continue
		}
		switch {
		case *p.v == -1:
			return 0, nil
		case *p.v < 0:
			return 0, badRequest(p.name, "%s must be positive, or -1 for no bound", p.name)
		case *p.v == 0:
			return 0, badRequest(p.name, "%s must be at least 1", p.name)
		}
		return *p.v, nil
	}
	return 0, nil
}

// common checks what every generation request shares and fills the
// request's sampling settings.
func (f *samplingFields) common(req *llm.Request) *apiError {
	if f.N != nil && (*f.N < 1 || *f.N > maxChoices) {
		return badRequest("n", "n must be from 1 to %d", maxChoices)
	}
	if e := f.Stop.check(); e != nil {
		return e
	}
	n, e := f.maxTokens()
	if e != nil {
		return e
	}
	req.MaxTokens = n
	req.Temperature, req.TopP, req.TopK, req.MinP = f.Temperature, f.TopP, f.TopK, f.MinP
	req.RepeatPenalty, req.RepeatLastN, req.Seed = f.RepeatPenalty, f.RepeatLastN, f.Seed
	req.Stop = f.Stop
	return nil
}

// logitBias reads logit_bias. A bias of -100 or less, or false, bans the
// token.
func (f *samplingFields) logitBias() (map[int32]float32, *apiError) {
	raw := bytes.TrimSpace(f.LogitBias)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	bias := map[int32]float32{}
	add := func(id int64, v json.RawMessage) *apiError {
		if id < 0 || id > math.MaxInt32 {
			return badRequest("logit_bias", "logit_bias names token %d, which is not a token id", id)
		}
		var b float64
		switch {
		case string(bytes.TrimSpace(v)) == "false":
			b = math.Inf(-1)
		case json.Unmarshal(v, &b) != nil || math.IsNaN(b) || b > 100:
			return badRequest("logit_bias", "a logit bias must be a number up to 100, or false")
		case b <= -100:
			b = math.Inf(-1)
		}
		bias[int32(id)] = float32(b)
		return nil
	}
	var obj map[string]json.RawMessage
	var pairs [][2]json.RawMessage
	switch {
	case json.Unmarshal(raw, &obj) == nil:
		for k, v := range obj {
			id, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return nil, badRequest("logit_bias", "logit_bias keys must be token ids, not %s", quoteJSON(k))
			}
			if e := add(id, v); e != nil {
				return nil, e
			}
		}
	case json.Unmarshal(raw, &pairs) == nil:
		for _, p := range pairs {
			var id int64
			if json.Unmarshal(p[0], &id) != nil {
				return nil, badRequest("logit_bias", "logit_bias pairs must start with a token id")
			}
			if e := add(id, p[1]); e != nil {
				return nil, e
			}
		}
	default:
		return nil, badRequest("logit_bias", `logit_bias must be an object {"token id": bias} or an array of [id, bias] pairs`)
	}
	return bias, nil
}

func (f *samplingFields) includeUsage() bool {
	return f.StreamOptions != nil && f.StreamOptions.IncludeUsage
}

// chatRequest is the body of POST /v1/chat/completions. The fields it
// does not hold are ignored or refused as chatFields says.
type chatRequest struct {
	samplingFields
	Model              string                     `json:"model"`
	Messages           []oaiwire.RequestMessage   `json:"messages"`
	Tools              []oaiwire.Tool             `json:"tools"`
	ToolChoice         json.RawMessage            `json:"tool_choice"`
	ParallelToolCalls  *bool                      `json:"parallel_tool_calls"`
	Logprobs           *bool                      `json:"logprobs"`
	TopLogprobs        *int                       `json:"top_logprobs"`
	ChatTemplateKwargs map[string]json.RawMessage `json:"chat_template_kwargs"`
}

// call turns the request into the driver's call.
func (r *chatRequest) call() (embedded.Call, *apiError) {
	var c embedded.Call
	c.Logprobs = r.Logprobs != nil && *r.Logprobs
	if r.TopLogprobs != nil {
		switch {
		case !c.Logprobs:
			return c, badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		case *r.TopLogprobs < 0 || *r.TopLogprobs > engine.MaxTopLogprobs:
			return c, badRequest("top_logprobs", "top_logprobs must be from 0 to %d", engine.MaxTopLogprobs)
		}
		c.TopLogprobs = *r.TopLogprobs
	}
	if e := r.common(&c.Request); e != nil {
		return c, e
	}
	var e *apiError
	if c.ResponseFormat, c.Grammar, e = r.constraint(); e != nil {
		return c, e
	}
	c.FrequencyPenalty, c.PresencePenalty, c.IgnoreEOS = r.FrequencyPenalty, r.PresencePenalty, r.IgnoreEOS
	if c.LogitBias, e = r.logitBias(); e != nil {
		return c, e
	}
	if c.System, c.Messages, e = conversation(r.Messages); e != nil {
		return c, e
	}
	if c.Tools, e = toolDefs(r.Tools); e != nil {
		return c, e
	}
	if c.ToolChoice, e = toolChoice(r.ToolChoice); e != nil {
		return c, e
	}
	if raw, ok := r.ChatTemplateKwargs["enable_thinking"]; ok {
		var on bool
		if json.Unmarshal(raw, &on) != nil {
			return c, badRequest("chat_template_kwargs.enable_thinking", "chat_template_kwargs.enable_thinking must be a boolean")
		}
		c.EnableThinking = &on
	}
	if err := c.Validate(); err != nil {
		return c, errorFor(err)
	}
	return c, nil
}

// conversation turns OpenAI messages into tether's: the leading system
// (or developer) messages become the system prompt, an assistant message
// with tool calls becomes its text and one tool use per call, and a tool
// message a tool result named after the call it answers.
func conversation(in []oaiwire.RequestMessage) (string, []llm.Message, *apiError) {
	if len(in) == 0 {
		return "", nil, badRequest("messages", "messages must hold at least one message")
	}
	var system []string
	var out []llm.Message
	names := map[string]string{} // tool call id -> tool name
	leading := true
	for i, m := range in {
		param := fmt.Sprintf("messages[%d]", i)
		text, e := contentText(m.Content, param+".content")
		if e != nil {
			return "", nil, e
		}
		switch m.Role {
		case "system", "developer":
			if leading {
				system = append(system, text)
				continue
			}
			out = append(out, llm.SystemMessage(text))
		case "user":
			out = append(out, llm.UserMessage(text))
		case "assistant":
			turn := llm.Message{Role: llm.RoleAssistant, Content: text, Reasoning: m.ReasoningContent}
			for j, tc := range m.ToolCalls {
				call, e := toolCall(tc, fmt.Sprintf("%s.tool_calls[%d]", param, j))
				if e != nil {
					return "", nil, e
				}
				if call.ID == "" {
					call.ID = fmt.Sprintf("call_%d_%d", i, j)
				}
				names[call.ID] = call.Name
				turn.ToolCalls = append(turn.ToolCalls, call)
			}
			out = append(out, turn)
		case "tool":
			name := m.Name
			if name == "" {
				name = names[m.ToolCallID]
			}
			out = append(out, llm.ToolResultMessage(llm.ToolResult{ToolUseID: m.ToolCallID, Name: name, Content: text}))
		case "function":
			return "", nil, unsupported(param+".role", `the legacy "function" role (use "tool")`)
		case "":
			return "", nil, badRequest(param+".role", "%s has no role", param)
		default:
			return "", nil, badRequest(param+".role", "%s has the unknown role %s (want system, developer, user, assistant or tool)", param, quoteJSON(m.Role))
		}
		if m.Role != "system" && m.Role != "developer" {
			leading = false
		}
	}
	if len(out) == 0 {
		// Only system messages: render them as they are.
		for _, s := range system {
			out = append(out, llm.SystemMessage(s))
		}
		system = nil
	}
	return strings.Join(system, "\n\n"), out, nil
}

// contentText reads a message's content: a string, null, or an array of
// parts of which only text parts are supported.
func contentText(raw json.RawMessage, param string) (string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", badRequest(param, "%s is not a valid string", param)
		}
		return s, nil
	case '[':
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if json.Unmarshal(raw, &parts) != nil {
			return "", badRequest(param, "%s must be a string or an array of content parts", param)
		}
		var b strings.Builder
		for i, p := range parts {
			switch {
			case (p.Type == "text" || p.Type == "input_text") && p.Text != nil:
				b.WriteString(*p.Text)
			case p.Type == "text" || p.Type == "input_text":
				return "", badRequest(fmt.Sprintf("%s[%d].text", param, i), "a text part needs text")
			default:
				return "", unsupported(fmt.Sprintf("%s[%d].type", param, i), "content of type "+quoteJSON(p.Type)+" (the model reads text only)")
			}
		}
		return b.String(), nil
	}
	return "", badRequest(param, "%s must be a string, null or an array of content parts", param)
}

// toolCall reads one call of an assistant message. Its arguments are a
// JSON string holding the input (OpenAI), or the input itself (some
// clients).
func toolCall(tc oaiwire.ToolCall, param string) (llm.ToolCall, *apiError) {
	if tc.Type != "" && tc.Type != "function" {
		return llm.ToolCall{}, badRequest(param+".type", "tool call type %s is not supported (want \"function\")", quoteJSON(tc.Type))
	}
	if tc.Function.Name == "" {
		return llm.ToolCall{}, badRequest(param+".function.name", "a tool call needs a function name")
	}
	args := bytes.TrimSpace([]byte(tc.Function.Arguments.Text))
	if tc.Function.Arguments.Object != nil {
		args = tc.Function.Arguments.Object
	}
	if len(args) == 0 || string(args) == "null" {
		args = []byte("{}")
	}
	if !json.Valid(args) {
		return llm.ToolCall{}, badRequest(param+".function.arguments", "the arguments must be JSON")
	}
	return llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Input: json.RawMessage(args)}, nil
}

// maxToolName bounds a tool's name (OpenAI allows 64 characters).
const maxToolName = 256

func toolDefs(in []oaiwire.Tool) ([]llm.ToolDef, *apiError) {
	defs := make([]llm.ToolDef, 0, len(in))
	seen := map[string]bool{}
	for i, t := range in {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" && t.Type != "" {
			return nil, unsupported(param+".type", "tool type "+quoteJSON(t.Type)+" (only \"function\")")
		}
		if t.Function == nil || t.Function.Name == "" {
			return nil, badRequest(param+".function.name", "%s needs a function with a name", param)
		}
		name := t.Function.Name
		switch {
		case len(name) > maxToolName:
			return nil, badRequest(param+".function.name", "a tool name may have at most %d bytes", maxToolName)
		case seen[name]:
			return nil, badRequest(param+".function.name", "the tool name %s is used twice", quoteJSON(name))
		}
		seen[name] = true
		params := bytes.TrimSpace(t.Function.Parameters)
		if len(params) == 0 || string(params) == "null" {
			params = []byte(`{"type":"object","properties":{}}`)
		}
		if params[0] != '{' {
			return nil, badRequest(param+".function.parameters", "the parameters must be a JSON Schema object")
		}
		defs = append(defs, llm.ToolDef{Name: name, Description: t.Function.Description, InputSchema: json.RawMessage(params), Strict: t.Function.Strict})
	}
	return defs, nil
}

// toolChoice reads tool_choice: "auto", "none", "required", or
// {"type": "function", "function": {"name": …}}.
func toolChoice(raw json.RawMessage) (llm.ToolChoice, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return llm.ToolChoice{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return llm.ToolChoice{Mode: llm.ToolAuto}, nil
		case "none":
			return llm.ToolChoice{Mode: llm.ToolNone}, nil
		case "required":
			return llm.ToolChoice{Mode: llm.ToolRequired}, nil
		}
		return llm.ToolChoice{}, badRequest("tool_choice", "tool_choice %s is not one of \"auto\", \"none\", \"required\"", quoteJSON(s))
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Type != "function" || obj.Function.Name == "" {
		return llm.ToolChoice{}, badRequest("tool_choice", `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}`)
	}
	return llm.ToolChoiceNamed(obj.Function.Name), nil
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
