package grammar

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Hostile schemas: each either compiles to a grammar that parses, or is
// refused with a *SchemaError; none may blow up.
func TestSchemaHostile(t *testing.T) {
	enum := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"enum":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"value-%d"`, i)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	doubling := func(levels int) string {
		var b strings.Builder
		b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
		for i := range levels {
			fmt.Fprintf(&b, `"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]},`, i, i+1, i+1)
		}
		fmt.Fprintf(&b, `"d%d":{"type":"integer"}}}`, levels)
		return b.String()
	}
	wide := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"type":"object","properties":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"p%d":{"type":"integer"}`, i)
		}
		b.WriteString(`},"additionalProperties":false}`)
		return b.String()
	}
	nestedArrays := strings.Repeat(`{"type":"array","maxItems":1000,"items":`, 8) + `{"type":"string","maxLength":1000}` + strings.Repeat(`}`, 8)

	for _, tc := range []struct {
		name   string
		schema string
		ok     bool   // compiles
		reason string // else, part of the refusal
	}{
		{"enum of 1000", enum(1000), true, ""},
		{"enum of 100000", enum(100_000), false, "larger than"},
		{"allOf doubling", doubling(40), false, "too complex"},
		{"1000 optional properties", wide(1000), true, ""},
		{"2000 optional properties", wide(2000), false, "too large"},
		{"nested counted arrays", nestedArrays, true, ""},
		{"nested pattern counts", `{"type":"string","pattern":"^((a{1000}){1000}){1000}$"}`, true, ""},
		{"maxItems 1e9", `{"type":"array","maxItems":1e9}`, false, "maxItems above 1000"},
		{"minItems 1e300", `{"type":"array","minItems":1e300}`, false, "minItems above 1000"},
		{"deep properties", strings.Repeat(`{"type":"object","properties":{"a":`, 31) + `{}` + strings.Repeat(`}}`, 31), true, ""},
		{"deeper properties", strings.Repeat(`{"type":"object","properties":{"a":`, 40) + `{}` + strings.Repeat(`}}`, 40), false, "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := FromJSONSchema([]byte(tc.schema), SchemaOptions{})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if g == nil {
					t.Fatal("no grammar")
				}
				return
			}
			var se *SchemaError
			if !errors.As(err, &se) || !strings.Contains(se.Reason, tc.reason) {
				t.Fatalf("got %v, want a *SchemaError with %q", err, tc.reason)
			}
		})
	}
}

// FuzzSchemaToGBNF checks that any input either compiles to a grammar that
// parses or is refused with a *SchemaError, without panicking.
func FuzzSchemaToGBNF(f *testing.F) {
	for _, tc := range schemaCases {
		f.Add(tc.schema, tc.strict)
	}
	for _, s := range []string{
		`{"type":"string","pattern":"^(a|b)*[^\\d\\s]{2,3}x?$"}`,
		`{"type":"integer","minimum":-7,"exclusiveMaximum":123456}`,
		`{"type":"number","exclusiveMinimum":-3,"maximum":0}`,
		`{"$ref":"#","type":"array"}`,
		`{"anyOf":[{"$ref":"#"},{"type":"null"}]}`,
		`{"required":["a"],"properties":{"a":false}}`,
		`{"allOf":[{"$ref":"#/$defs/x"}],"$defs":{"x":{"allOf":[{"$ref":"#"}]}}}`,
		`true`, `false`, `[]`, `{"type":[]}`, `{"enum":[{"a":[1,{"b":null}]}]}`,
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, schema string, strict bool) {
		src, err := SchemaToGBNF([]byte(schema), SchemaOptions{Strict: strict})
		if err != nil {
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("error is not a *SchemaError: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error message has more than one line: %q", err)
			}
			return
		}
		g, err := Parse(src)
		if errors.Is(err, ErrLimit) {
			return
		}
		if err != nil {
			t.Fatalf("the grammar does not parse: %v\n%s", err, src)
		}
		g.Accepts(`{"a":[1,"x",null]}`)
	})
}

// BenchmarkFromJSONSchema measures compiling a schema of the kind tool
// calls and structured outputs use, GBNF text and parse together.
func BenchmarkFromJSONSchema(b *testing.B) {
	schema := []byte(schemaCases[0].schema)
	for b.Loop() {
		if _, err := FromJSONSchema(schema, SchemaOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
