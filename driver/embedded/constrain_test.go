package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/llm"
)

// compileSchema compiles a JSON Schema with a real validator, the judge
// of what the constrained answers hold.
func compileSchema(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, text string) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatalf("answer %q is not JSON: %v", text, err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("answer %q does not fit the schema: %v", text, err)
	}
}

// sampled is random sampling with a seed: the random test models can
// then write anything the grammar lets through.
func sampled(seed int64) *sample.Params {
	p := sample.DefaultParams()
	p.Temperature, p.Seed = 1, seed
	return &p
}

const personSchema = `{
	"type": "object",
	"properties": {
		"name": {"type": "string", "maxLength": 12},
		"age": {"type": "integer", "minimum": 0, "maximum": 150},
		"tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
		"address": {"$ref": "#/$defs/address"}
	},
	"required": ["name", "age"],
	"additionalProperties": false,
	"$defs": {"address": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 8}}, "required": ["city"], "additionalProperties": false}}
}`

// TestResponseFormat: every answer under a JSON Schema, across seeds and
// templates (a thinking one included), validates against it; JSON mode
// gives objects; a GBNF grammar is followed.
func TestResponseFormat(t *testing.T) {
	schema := compileSchema(t, personSchema)
	for _, template := range []string{"chatml", "qwq"} {
		e := loadEngine(t, template, engine.Options{ContextLength: 1024})
		for seed := range int64(12) {
			d := New(e, Options{Sampling: sampled(seed)})
			req := hello()
			req.MaxTokens = 400
			req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(personSchema), Strict: seed%2 == 0}
			resp, err := d.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != llm.StopEndTurn {
				t.Fatalf("%s seed %d: stopped by %s: %q", template, seed, resp.StopReason, resp.Text)
			}
			validate(t, schema, resp.Text)

			req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
			if resp, err = d.Complete(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if resp.StopReason == llm.StopEndTurn && json.Unmarshal([]byte(resp.Text), &obj) != nil {
				t.Fatalf("JSON mode answer %q is not an object", resp.Text)
			}
		}
	}
	e := loadEngine(t, "chatml", engine.Options{})
	d := New(e, Options{Sampling: sampled(1)})
	turn, err := d.Prepare(Call{Request: hello(), Grammar: `root ::= ("yes" | "no") "!"`})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := llm.CompleteFromStream(turn.Stream(context.Background()))
	if err != nil || (resp.Text != "yes!" && resp.Text != "no!") {
		t.Errorf("grammar answer %v, %v", resp, err)
	}
}

// TestForcedToolCallsFollowSchemas: a call forced by tool_choice always
// parses, names one of the tools and has arguments valid against that
// tool's schema, in every call syntax: hermes (qwen25), Llama 3's JSON
// and tether's text protocol (chatml).
func TestForcedToolCallsFollowSchemas(t *testing.T) {
	tools := []llm.ToolDef{
		{Name: "get_weather", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","maxLength":10},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}`)},
		{Name: "glob", Strict: true, InputSchema: json.RawMessage(`{"type":"object","properties":{"pattern":{"type":"string","maxLength":10}}}`)},
	}
	schemas := map[string]*jsonschema.Schema{
		"get_weather": compileSchema(t, string(tools[0].InputSchema)),
		"glob":        compileSchema(t, `{"type":"object","properties":{"pattern":{"type":"string"}},"required":["pattern"],"additionalProperties":false}`),
	}
	for _, template := range []string{"qwen25", "llama3", "chatml"} {
		e := loadEngine(t, template, engine.Options{ContextLength: 2048})
		for seed := range int64(8) {
			for _, choice := range []llm.ToolChoice{{Mode: llm.ToolRequired}, llm.ToolChoiceNamed("glob")} {
				name := fmt.Sprintf("%s/seed %d/%s", template, seed, choice)
				d := New(e, Options{Sampling: sampled(seed)})
				req := hello()
				req.Tools, req.ToolChoice, req.MaxTokens = tools, choice, 300
				resp, err := d.Complete(context.Background(), req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 || resp.Text != "" {
					t.Fatalf("%s: %v", name, resp)
				}
				call := resp.ToolCalls[0]
				s := schemas[call.Name]
				if s == nil || (choice.Mode == llm.ToolNamed && call.Name != "glob") {
					t.Fatalf("%s: call of %q", name, call.Name)
				}
				validate(t, s, string(call.Input))
			}
		}
	}
}

func TestConstraintErrors(t *testing.T) {
	e := loadEngine(t, "qwen25", engine.Options{})
	d := New(e, Options{})
	tool := llm.ToolDef{Name: "f", InputSchema: json.RawMessage(`{"type":"object","properties":{"x":{"type":"string","pattern":"(?=a)"}}}`)}
	cases := map[string]Call{
		"unsupported schema": {Request: withFormat(hello(), &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(`{"type":"string","pattern":"(a)\\1"}`)})},
		"grammar syntax":     {Request: hello(), Grammar: `root ::= "a`},
		"two constraints":    {Request: withFormat(hello(), &llm.ResponseFormat{Type: llm.FormatJSONObject}), Grammar: `root ::= "a"`},
		"tool schema": {Request: func() llm.Request {
			r := hello()
			r.Tools, r.ToolChoice = []llm.ToolDef{tool}, llm.ToolChoiceNamed("f")
			return r
		}()},
	}
	for name, c := range cases {
		_, err := d.Prepare(c)
		var re *llm.RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want a request error", name, err)
		}
	}
}

func withFormat(r llm.Request, f *llm.ResponseFormat) llm.Request {
	r.ResponseFormat = f
	return r
}

// TestStrictToolUnderAuto: with tool_choice auto, a strict tool's call is
// held to its schema once the model opens it. engine/synth's tool-call
// model writes a call with a city only; the strict schema also requires
// days, which the grammar makes it write.
func TestStrictToolUnderAuto(t *testing.T) {
	tool := llm.ToolDef{Name: synth.ToolName, Strict: true, InputSchema: json.RawMessage(
		`{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":3}},"required":["city"],"additionalProperties":false}`)}
	strict := compileSchema(t, `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":3}},"required":["city","days"],"additionalProperties":false}`)
	for _, arch := range []string{synth.ArchQwen2, synth.ArchLlama} {
		d, err := Open(toolCallModel(t, arch), Options{Engine: engine.Options{ContextLength: 1024, Threads: 2}, Sampling: greedy()})
		if err != nil {
			t.Fatal(err)
		}
		req := llm.Request{Messages: []llm.Message{llm.UserMessage("What is the weather in Paris?")}, Tools: []llm.ToolDef{tool}, MaxTokens: 64}
		resp, err := d.Complete(context.Background(), req)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.ToolCalls) != 1 || resp.StopReason != llm.StopToolUse {
			t.Fatalf("%s: %v", arch, resp)
		}
		validate(t, strict, string(resp.ToolCalls[0].Input))
	}
}
