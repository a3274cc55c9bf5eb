package llm

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestToolChoiceText(t *testing.T) {
	for _, c := range []ToolChoice{{}, {Mode: ToolNone}, {Mode: ToolRequired}, ToolChoiceNamed("glob"), ToolChoiceNamed("a:b")} {
		b, err := json.Marshal(Request{ToolChoice: c})
		if err != nil {
			t.Fatal(err)
		}
		var back Request
		if err := json.Unmarshal(b, &back); err != nil || back.ToolChoice != c {
			t.Errorf("%v: round trip through %s gave %v, %v", c, b, back.ToolChoice, err)
		}
	}
	if b, _ := json.Marshal(Request{}); string(b) != `{"messages":null}` {
		t.Errorf("the zero choice is written: %s", b)
	}
	for _, bad := range []string{`"tool:"`, `"sometimes"`, `"Required"`} {
		var c ToolChoice
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s read as %v", bad, c)
		}
	}
	if _, err := json.Marshal(ToolChoice{Mode: ToolNamed}); err == nil {
		t.Error("a named choice without a name was written")
	}
}

func TestRequestValidatesToolChoiceAndFormat(t *testing.T) {
	glob := ToolDef{Name: "glob", InputSchema: json.RawMessage(`{"type":"object"}`)}
	base := Request{Messages: []Message{UserMessage("hi")}}
	cases := map[string]struct {
		mod func(*Request)
		ok  bool
	}{
		"required with tools":    {func(r *Request) { r.Tools, r.ToolChoice = []ToolDef{glob}, ToolChoice{Mode: ToolRequired} }, true},
		"required without tools": {func(r *Request) { r.ToolChoice = ToolChoice{Mode: ToolRequired} }, false},
		"named present":          {func(r *Request) { r.Tools, r.ToolChoice = []ToolDef{glob}, ToolChoiceNamed("glob") }, true},
		"named absent":           {func(r *Request) { r.Tools, r.ToolChoice = []ToolDef{glob}, ToolChoiceNamed("grep") }, false},
		"json object":            {func(r *Request) { r.ResponseFormat = &ResponseFormat{Type: FormatJSONObject} }, true},
		"schema": {func(r *Request) {
			r.ResponseFormat = &ResponseFormat{Type: FormatJSONSchema, Schema: json.RawMessage(`{}`)}
		}, true},
		"schema missing": {func(r *Request) { r.ResponseFormat = &ResponseFormat{Type: FormatJSONSchema} }, false},
		"schema not json": {func(r *Request) {
			r.ResponseFormat = &ResponseFormat{Type: FormatJSONSchema, Schema: json.RawMessage(`{`)}
		}, false},
		"unknown type": {func(r *Request) { r.ResponseFormat = &ResponseFormat{Type: "yaml"} }, false},
	}
	for name, c := range cases {
		r := base
		c.mod(&r)
		err := r.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v", name, err)
		}
		var re *RequestError
		if err != nil && !errors.As(err, &re) {
			t.Errorf("%s: %T is not a *RequestError", name, err)
		}
	}
}

func FuzzToolChoiceText(f *testing.F) {
	for _, s := range []string{"auto", "none", "required", "tool:glob", "tool:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var c ToolChoice
		if c.UnmarshalText([]byte(s)) != nil {
			return
		}
		b, err := c.MarshalText()
		if err != nil {
			t.Fatalf("%q read as %v, which cannot be written: %v", s, c, err)
		}
		var back ToolChoice
		if back.UnmarshalText(b) != nil || back != c {
			t.Fatalf("%q: %v wrote %q, read back as %v", s, c, b, back)
		}
	})
}

// TestRequestRefusesNaN: NaN and infinities fail the sampling checks,
// which plain comparisons would let through.
func TestRequestRefusesNaN(t *testing.T) {
	for name, mod := range map[string]func(*Request){
		"temperature NaN": func(r *Request) { r.Temperature = Ptr(math.NaN()) },
		"top_p NaN":       func(r *Request) { r.TopP = Ptr(math.NaN()) },
		"min_p NaN":       func(r *Request) { r.MinP = Ptr(math.NaN()) },
		"repeat NaN":      func(r *Request) { r.RepeatPenalty = Ptr(math.NaN()) },
		"repeat +Inf":     func(r *Request) { r.RepeatPenalty = Ptr(math.Inf(1)) },
		"temperature Inf": func(r *Request) { r.Temperature = Ptr(math.Inf(1)) },
	} {
		r := Request{Messages: []Message{UserMessage("hi")}}
		mod(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
