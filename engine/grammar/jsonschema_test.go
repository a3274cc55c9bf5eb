package grammar

import (
	"errors"
	"strings"
	"testing"

	"github.com/dlclark/regexp2/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaCase is a schema the compiler supports, with instances the grammar
// must accept and texts it must reject. Every accepted instance is also
// checked against a JSON Schema validator, so a wrong expectation here
// fails instead of hiding a bug; rejected texts are invalid JSON, invalid
// under the schema, or valid but outside what the grammar generates (those
// say why in a comment).
type schemaCase struct {
	name     string
	schema   string
	strict   bool
	accept   []string
	reject   []string
	walkBias string // bytes random walks prefer besides closers, to reach an end
}

var schemaCases = []schemaCase{
	{
		name: "object with optional members",
		schema: `{"type":"object","properties":{
			"name":{"type":"string","maxLength":10},
			"age":{"type":"integer","minimum":0,"maximum":150},
			"tags":{"type":"array","items":{"type":"string"},"maxItems":3},
			"score":{"type":"number","minimum":0,"maximum":1}},
			"required":["name"]}`,
		accept: []string{
			`{"name":"Ann"}`,
			`{"name":"Ann","age":150}`,
			`{"name":"","tags":[],"score":0.25}`,
			`{"name":"Bob","age":0,"tags":["a","b","c"],"score":1}`,
			`{ "name": "Bob", "score": 1.000 }`,
			"{\n  \"name\": \"x\",\n\t\"age\": 7\n}",
		},
		reject: []string{
			`{}`,
			`{"age":3}`,
			`{"name":"Ann","age":151}`,
			`{"name":"Ann","age":-1}`,
			`{"name":"Ann","age":1.5}`,
			`{"name":"Ann","age":07}`,
			`{"name":"Ann","score":1.01}`,
			`{"name":"Ann","score":-0.5}`,
			`{"name":"Ann","tags":["a","b","c","d"]}`,
			`{"name":"01234567890"}`,
			`{"name":"Ann",}`,
			`{"name":"Ann","other":1}`, // valid, but undeclared members are not generated
			`{"age":3,"name":"Ann"}`,   // valid, but members come in schema order
			`{"name":"Ann"} `,          // no whitespace after the value
			` {"name":"Ann"}`,          // nor before it
			`{"name":  "Ann"}`,         // at most one space between tokens
			"{\"name\":\n\n\"Ann\"}",   // at most one newline
			`{"name":"Ann"`,
		},
	},
	{
		name:   "strict mode generates every member",
		schema: `{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":["string","null"]}},"additionalProperties":true}`,
		strict: true,
		accept: []string{`{"a":true,"b":null}`, `{"a":false,"b":"x"}`},
		reject: []string{`{"a":true}`, `{}`, `{"a":true,"b":null,"c":1}`},
	},
	{
		name:   "strict mode and recursion through an optional member",
		schema: `{"type":"object","properties":{"name":{"type":"string","maxLength":3},"child":{"$ref":"#"}},"additionalProperties":false}`,
		strict: true,
		accept: []string{`{"name":"a"}`, `{"name":"a","child":{"name":"b"}}`},
		reject: []string{`{}`, `{"child":{"name":"b"}}`},
	},
	{
		name:   "a bare object type is any object",
		schema: `{"type":"object","required":["id"]}`,
		accept: []string{`{"id":1}`, `{"id":null,"x":{"y":[]}}`},
		reject: []string{`{}`, `{"x":1}`, `[]`},
	},
	{
		name:   "no required members",
		schema: `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}}}`,
		accept: []string{`{}`, `{"a":1}`, `{"b":2}`, `{"c":3}`, `{"a":1,"c":3}`, `{"b":2,"c":3}`, `{"a":1,"b":2,"c":3}`, `{ }`},
		reject: []string{`{,}`, `{"a":1,}`, `{,"b":2}`, `{"a":1"b":2}`, `{"c":3,"a":1}`, `{"a":1,"a":1}`},
	},
	{
		name:   "required in the middle",
		schema: `{"properties":{"a":{"const":1},"b":{"const":2},"c":{"const":3}},"required":["b"],"additionalProperties":false}`,
		accept: []string{`{"b":2}`, `{"a":1,"b":2}`, `{"b":2,"c":3}`, `{"a":1,"b":2,"c":3}`},
		reject: []string{`{}`, `{"a":1}`, `{"a":1,"c":3}`, `{"b":3}`, `[]`},
	},
	{
		name:   "additional properties with a schema",
		schema: `{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],"additionalProperties":{"type":"string","maxLength":3}}`,
		accept: []string{`{"id":1}`, `{"id":1,"x":"abc"}`, `{"id":1,"i":"","idx":"z","\"":"q"}`, `{"id":2,"ID":"a"}`},
		reject: []string{
			`{"id":1,"x":1}`,
			`{"id":1,"x":"abcd"}`,
			`{"id":1,"id":"a"}`,      // the declared name again
			`{"id":1,"\u0069d":"a"}`, // nor spelled another way
		},
	},
	{
		name:   "additional properties true and an undeclared required name",
		schema: `{"type":"object","properties":{"a":{"type":"null"}},"required":["z"],"additionalProperties":true}`,
		accept: []string{`{"z":[1,{"k":null}]}`, `{"a":null,"z":"x","b":false}`, `{"z":1,"q":{}}`},
		reject: []string{`{"a":null}`, `{"z":1,"a":null}`},
	},
	{
		name:   "enum and const",
		schema: `{"type":"object","properties":{"color":{"enum":["red","green","a \"quoted\" \\ value",null,1.5,{"k":[true]}]},"v":{"const":"x"}},"required":["color","v"]}`,
		accept: []string{`{"color":"red","v":"x"}`, `{"color":null,"v":"x"}`, `{"color":1.5,"v":"x"}`, `{"color":{"k":[true]},"v":"x"}`, `{"color":"a \"quoted\" \\ value","v":"x"}`},
		reject: []string{`{"color":"blue","v":"x"}`, `{"color":"red","v":"y"}`, `{"color":{"k": [true]},"v":"x"}`},
	},
	{
		name:   "enum filtered by type",
		schema: `{"type":["string","integer"],"enum":["a",1,2.5,null,true]}`,
		accept: []string{`"a"`, `1`},
		reject: []string{`2.5`, `null`, `true`, `"b"`},
	},
	{
		name:   "anyOf, oneOf and nullable types",
		schema: `{"type":"object","properties":{"v":{"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]},"w":{"oneOf":[{"type":"boolean"},{"type":"array","items":{"type":"null"},"maxItems":1}]},"n":{"type":["number","null"]},"o":{"type":"integer","nullable":true}},"required":["v","w","n","o"]}`,
		accept: []string{`{"v":-12,"w":true,"n":null,"o":1}`, `{"v":"ab","w":[null],"n":-1.5e-3,"o":4}`, `{"v":"","w":[],"n":0,"o":0}`},
		reject: []string{
			`{"v":"abc","w":true,"n":null,"o":1}`,
			`{"v":1,"w":[null,null],"n":null,"o":1}`,
			`{"v":1,"w":true,"n":"1","o":1}`,
			`{"v":1,"w":true,"n":null,"o":null}`, // OpenAPI's nullable is not JSON Schema
		},
	},
	{
		name:   "recursive definitions",
		schema: `{"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["value","next"],"additionalProperties":false}}}`,
		accept: []string{`{"value":1,"next":null}`, `{"value":1,"next":{"value":2,"next":{"value":3,"next":null}}}`},
		reject: []string{`{"value":1}`, `{"value":1,"next":{"value":2}}`, `null`},
	},
	{
		name:   "recursion through the root and draft 7 definitions",
		schema: `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"leaf":{"type":"string","maxLength":4}},"type":"array","items":{"anyOf":[{"$ref":"#"},{"$ref":"#/definitions/leaf"}]},"maxItems":3}`,
		accept: []string{`[]`, `["a",[],["b",["c"]]]`, `[[[[]]]]`},
		reject: []string{`["abcde"]`, `[1]`, `[[],[],[],[]]`},
	},
	{
		name: "allOf merges objects",
		schema: `{"$defs":{"base":{"type":"object","properties":{"id":{"type":"integer","minimum":1}},"required":["id"]}},
			"allOf":[{"$ref":"#/$defs/base"},{"properties":{"name":{"type":"string"},"id":{"maximum":9}},"required":["name"]}]}`,
		accept: []string{`{"id":1,"name":"a"}`, `{"id":9,"name":""}`},
		reject: []string{`{"id":0,"name":"a"}`, `{"id":10,"name":"a"}`, `{"id":1}`, `{"name":"a"}`},
	},
	{
		name: "allOf in a recursive schema",
		schema: `{"$defs":{"base":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["kids"]},
			"node":{"allOf":[{"$ref":"#/$defs/base"},{"properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2},"n":{"type":"integer"}},"required":["n"]}]}},
			"$ref":"#/$defs/node"}`,
		accept: []string{`{"kids":[],"n":1}`, `{"kids":[{"kids":[],"n":2},{"kids":[{"kids":[],"n":4}],"n":3}],"n":1}`},
		reject: []string{`{"kids":[]}`, `{"kids":[{"kids":[]}],"n":1}`, `{"kids":[{"kids":[],"n":1},{"kids":[],"n":1},{"kids":[],"n":1}],"n":1}`},
	},
	{
		name:   "anyOf branches of another type than the schema's",
		schema: `{"type":"string","anyOf":[{"maxLength":2},{"type":"null"}]}`,
		accept: []string{`"ab"`, `""`},
		reject: []string{`null`, `"abc"`},
	},
	{
		name:   "anyOf beside properties",
		schema: `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"anyOf":[{"required":["a"]},{"required":["b"]}]}`,
		accept: []string{`{"a":1}`, `{"b":2}`, `{"a":1,"b":2}`},
		reject: []string{`{}`},
	},
	{
		name:   "integer ranges",
		schema: `{"type":"array","prefixItems":[{"type":"integer","minimum":-1234,"maximum":-17},{"type":"integer","exclusiveMinimum":-5,"exclusiveMaximum":5},{"type":"integer","minimum":995},{"type":"integer","maximum":-3},{"type":"integer","minimum":2.5,"maximum":3.5}],"minItems":5,"items":false}`,
		accept: []string{`[-17,-4,995,-3,3]`, `[-1234,4,1000000,-1000,3]`, `[-999,0,996,-3,3]`},
		reject: []string{`[-16,0,995,-3,3]`, `[-1235,0,995,-3,3]`, `[-17,5,995,-3,3]`, `[-17,-5,995,-3,3]`, `[-17,0,994,-3,3]`, `[-17,0,995,-2,3]`, `[-17,0,995,-3,2]`, `[-17,-0,995,-3,3]`, `[-17,0,995,-3]`, `[-17,0,995,-3,3,1]`},
	},
	{
		name:   "number ranges",
		schema: `{"type":"array","prefixItems":[{"type":"number","exclusiveMinimum":0},{"type":"number","minimum":-1,"maximum":1},{"type":"number","maximum":-2,"exclusiveMinimum":-4},{"type":"number","exclusiveMaximum":10}],"minItems":4,"maxItems":4}`,
		accept: []string{`[0.001,-1,-2,9.999]`, `[7,1.0,-3.5,-100]`, `[0.5,0,-2.000,0]`, `[12.25,-0.75,-3.99,-0.5]`},
		reject: []string{`[0,0,-3,0]`, `[0.000,0,-3,0]`, `[1,1.5,-3,0]`, `[1,-1.01,-3,0]`, `[1,0,-1.9,0]`, `[1,0,-4,0]`, `[1,0,-3,10]`, `[1,0,-3,1e1]`},
	},
	{
		name:   "number ranges with fractions",
		schema: `{"type":"array","prefixItems":[{"type":"number","minimum":0.25,"exclusiveMaximum":2.5},{"type":"number","exclusiveMinimum":-1.05,"maximum":-1.0495},{"type":"number","minimum":-0.5},{"type":"number","exclusiveMaximum":0.001},{"type":"number","minimum":3.14,"maximum":3.14}],"minItems":5,"items":false}`,
		accept: []string{
			`[0.25,-1.0495,-0.5,0.0009,3.14]`,
			`[2.4999,-1.0499999,7,-3,3.140]`,
			`[1,-1.04999,-0.4999,0,3.1400000]`,
			`[0.3,-1.0496,0,0.0001,3.14]`,
		},
		reject: []string{
			`[0.2499,-1.0495,0,0,3.14]`,
			`[2.5,-1.0495,0,0,3.14]`,
			`[1,-1.05,0,0,3.14]`,
			`[1,-1.0494,0,0,3.14]`,
			`[1,-1.0495,-0.51,0,3.14]`,
			`[1,-1.0495,0,0.001,3.14]`,
			`[1,-1.0495,0,0,3.141]`,
			`[1,-1.0495,0,0,3.1]`,
		},
	},
	{
		name:   "multipleOf",
		schema: `{"type":"array","items":{"type":"number","minimum":-12,"maximum":20,"multipleOf":5}}`,
		accept: []string{`[-10,-5,0,5,20]`},
		reject: []string{`[-15]`, `[3]`, `[2.5]`, `[25]`, `[5.0]` /* valid, but multiples are written as integers */},
	},
	{
		name:   "string lengths and escapes",
		schema: `{"type":"array","items":{"type":"string","minLength":2,"maxLength":3}}`,
		accept: []string{`["ab","abc","\n\t","\"\\/","\u00e9\u4E2D","é中","😀😀","\u0041b"]`},
		reject: []string{`["a"]`, `["abcd"]`, "[\"a\nb\"]", `["\x41b"]`, `["\ud83d\ude00"]` /* valid, but \u escapes never name surrogates */},
	},
	{
		name:   "free strings",
		schema: `{"type":"string"}`,
		accept: []string{`""`, `"\b\f\n\r\t\"\\\/"`, `"\uFFFF \u0000 \uD7FF \uE000"`, `"Grüße, 世界 🌍"`},
		reject: []string{`"`, `"\a"`, `"\u12"`, `"\uD800"`, "\"\x01\"", "\"\x7f\xff\""},
	},
	{
		name:     "patterns",
		walkBias: "abc",
		schema:   `{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{3}-\\d{2,4}$"},"any":{"type":"string","pattern":"ab+c"},"alt":{"type":"string","pattern":"^(?:yes|no)$|^maybe"},"esc":{"type":"string","pattern":"^[\"\\\\]\\n?\\.$"}},"required":["code","any","alt","esc"]}`,
		accept: []string{
			`{"code":"ABC-12","any":"abc","alt":"yes","esc":"\"."}`,
			`{"code":"XYZ-1234","any":"zzabbbbcz","alt":"maybe not","esc":"\\\n."}`,
			`{"code":"XYZ-1234","any":"\nabc\"","alt":"no","esc":"\"."}`,
		},
		reject: []string{
			`{"code":"AB-12","any":"abc","alt":"yes","esc":"\"."}`,
			`{"code":"ABC-12345","any":"abc","alt":"yes","esc":"\"."}`,
			`{"code":"ABC-12","any":"ac","alt":"yes","esc":"\"."}`,
			`{"code":"ABC-12","any":"abc","alt":"yess","esc":"\"."}`,
			`{"code":"ABC-12","any":"abc","alt":"a maybe","esc":"\"."}`,
			`{"code":"ABC-12","any":"abc","alt":"yes","esc":"x."}`,
		},
	},
	{
		name:   "pattern classes and groups",
		schema: `{"type":"string","pattern":"^(\\w+\\s)*[^a-z\\d]\\.?(?<tail>x|y){2}$"}`,
		accept: []string{`"Q.xy"`, `"ab_1 c\tZyy"`, `"\"xx"`, `"ete\n.yx"`},
		reject: []string{`"q.xy"`, `"1xy"`, `"Zx"`, `"Zxyx"`, `"ab Zxy "`},
	},
	{
		name:   "formats",
		schema: `{"type":"array","prefixItems":[{"format":"date"},{"format":"time"},{"format":"date-time"},{"format":"uuid"},{"format":"email"},{"format":"ipv4"},{"format":"hostname"},{"format":"duration"},{"format":"uri"}],"minItems":8,"maxItems":9}`,
		accept: []string{
			`["2024-02-28","23:59:59Z","1999-12-31T00:00:00.123+05:30","123e4567-e89b-12d3-a456-426614174000","a.b+c@example.com","192.168.0.255","my-host.example","P3D","https://example.com/a/b-c.d~e_f"]`,
			`["2024-04-30","00:00:00-08:00","2000-01-01T12:30:45Z","00000000-0000-0000-0000-000000000000","x@y.io","0.0.0.0","localhost","PT15M","http://x"]`,
		},
		reject: []string{
			`["2024-02-30","23:59:59Z","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-426614174000","a@b.com","1.2.3.4","h","P3D"]`,
			`["2024-04-31","23:59:59Z","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-426614174000","a@b.com","1.2.3.4","h","P3D"]`,
			`["2024-01-01","24:00:00Z","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-426614174000","a@b.com","1.2.3.4","h","P3D"]`,
			`["2024-01-01","23:59:59","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-426614174000","a@b.com","1.2.3.4","h","P3D"]`,
			`["2024-01-01","23:59:59Z","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-42661417400","a@b.com","1.2.3.4","h","P3D"]`,
			`["2024-01-01","23:59:59Z","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-426614174000","a@b.com","1.2.3.256","h","P3D"]`,
			`["2024-01-01","23:59:59Z","1999-12-31T00:00:00Z","123e4567-e89b-12d3-a456-426614174000","ab.com","1.2.3.4","h","P3D"]`,
		},
	},
	{
		name:   "lengths that a pattern or a format already satisfies",
		schema: `{"type":"array","prefixItems":[{"type":"string","format":"uri","minLength":1,"maxLength":2083},{"type":"string","pattern":"^[A-Z]{3}(-\\d)?$","minLength":3,"maxLength":5},{"type":"string","pattern":"^\"\\\\$","maxLength":2}],"minItems":3,"items":false}`,
		accept: []string{`["https://example.com/x","ABC","\"\\"]`, `["http://a.b","XYZ-1","\"\\"]`},
		reject: []string{`["https://example.com/x","AB","\"\\"]`},
	},
	{
		name:   "tuples and counts",
		schema: `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":{"type":"boolean"},"minItems":1,"maxItems":4}`,
		accept: []string{`["a"]`, `["a",1]`, `["a",1,true]`, `["a",1,true,false]`},
		reject: []string{`[]`, `[1]`, `["a","b"]`, `["a",1,true,false,true]`, `["a",1,2]`},
	},
	{
		name:   "draft 7 tuple with additionalItems",
		schema: `{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"const":0}],"additionalItems":{"type":"null"},"minItems":3}`,
		accept: []string{`[0,null,null]`, `[0,null,null,null]`},
		reject: []string{`[0,null]`, `[0,null,1]`, `[null,null,null]`},
	},
	{
		name:   "exact count",
		schema: `{"type":"array","items":{"type":"integer","minimum":0,"maximum":9},"minItems":3,"maxItems":3}`,
		accept: []string{`[1,2,3]`, "[\n 0,\n 0,\n 9\n]"},
		reject: []string{`[1,2]`, `[1,2,3,4]`, `[1,2,10]`},
	},
	{
		name:   "any value",
		schema: `{}`,
		accept: []string{`null`, `1`, `-0.5e+10`, `"x"`, `[1,"a",{"b":[null]}]`, `{"a":{"a":{}}}`, `true`},
		reject: []string{``, `nul`, `[1,]`, `{"a"}`, `01`, `1.`, `.5`, `+1`, `NaN`},
	},
	{
		name:   "true schema inside an object",
		schema: `{"type":"object","properties":{"x":true,"y":false},"required":["x"]}`,
		accept: []string{`{"x":[]}`, `{"x":{"k":"v"}}`},
		reject: []string{`{"x":1,"y":1}`, `{"y":1}`},
	},
}

// schemaValidator compiles a schema with a validator that asserts formats
// and reads patterns as ECMA-262 regular expressions, as JSON Schema says.
func schemaValidator(t testing.TB, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatalf("schema does not parse: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		re, err := regexp2.Compile(s, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("the validator refuses the schema: %v", err)
	}
	return sch
}

type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return ok && err == nil
}

func (r ecmaRegexp) String() string { return r.re.String() }

func validateInstance(sch *jsonschema.Schema, text string) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func compileCase(t testing.TB, tc schemaCase) *Grammar {
	t.Helper()
	g, err := FromJSONSchema([]byte(tc.schema), SchemaOptions{Strict: tc.strict})
	if err != nil {
		src, _ := SchemaToGBNF([]byte(tc.schema), SchemaOptions{Strict: tc.strict})
		t.Fatalf("FromJSONSchema: %v\n%s", err, src)
	}
	return g
}

func TestSchemaGrammarAcceptsInstances(t *testing.T) {
	for _, tc := range schemaCases {
		t.Run(tc.name, func(t *testing.T) {
			g := compileCase(t, tc)
			sch := schemaValidator(t, tc.schema)
			for _, s := range tc.accept {
				if err := validateInstance(sch, s); err != nil {
					t.Errorf("test data: %s is not valid under the schema: %v", s, err)
				}
				if !g.Accepts(s) {
					src, _ := SchemaToGBNF([]byte(tc.schema), SchemaOptions{Strict: tc.strict})
					t.Errorf("grammar rejects %s\n%s", s, src)
				}
			}
			for _, s := range tc.reject {
				if g.Accepts(s) {
					t.Errorf("grammar accepts %s", s)
				}
			}
		})
	}
}

func TestSchemaRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, schema, path, reason string
	}{
		{"not", `{"type":"object","properties":{"a":{"not":{"type":"null"}}}}`, "/properties/a/not", `keyword "not" is not supported`},
		{"if", `{"if":{"type":"string"},"then":{"minLength":1}}`, "/if", `"if" is not supported`},
		{"patternProperties", `{"patternProperties":{"^x":{}}}`, "/patternProperties", "not supported"},
		{"uniqueItems", `{"type":"array","uniqueItems":true}`, "/uniqueItems", "not supported"},
		{"multipleOf unbounded", `{"type":"integer","multipleOf":3}`, "/multipleOf", "between a minimum and a maximum"},
		{"multipleOf fraction", `{"type":"number","multipleOf":0.5,"minimum":0,"maximum":2}`, "/multipleOf", "only supported as an integer"},
		{"multipleOf wide", `{"type":"integer","multipleOf":5,"minimum":0,"maximum":1000000}`, "/multipleOf", "more than 1000 multiples"},
		{"multipleOf none", `{"type":"integer","multipleOf":5,"minimum":1,"maximum":4}`, "/multipleOf", "no multiple"},
		{"multipleOf zero", `{"type":"integer","multipleOf":0,"minimum":1,"maximum":4}`, "/multipleOf", "above 0"},
		{"contains", `{"type":"array","contains":{"const":1}}`, "/contains", "not supported"},
		{"propertyNames", `{"propertyNames":{"maxLength":3}}`, "/propertyNames", "not supported"},
		{"long fraction bound", `{"type":"object","properties":{"age":{"type":"number","minimum":1e-40}}}`, "/properties/age/minimum", "more than 32 fraction digits"},
		{"huge bound", `{"type":"integer","maximum":1e30}`, "/maximum", "beyond"},
		{"empty integer range", `{"type":"integer","minimum":5,"maximum":4.5}`, "/maximum", "no integer"},
		{"empty number range", `{"type":"number","exclusiveMinimum":3,"maximum":3}`, "/maximum", "no number"},
		{"bad bound", `{"type":"number","minimum":"0"}`, "/minimum", "must be a number"},
		{"unknown format", `{"type":"string","format":"iri-reference"}`, "/format", `format "iri-reference" is not supported`},
		{"pattern with length", `{"type":"string","pattern":"^a+$","maxLength":3}`, "/maxLength", "beside pattern"},
		{"format with length", `{"type":"string","format":"date","maxLength":9}`, "/maxLength", "beside format"},
		{"unanchored pattern with maxLength", `{"type":"string","pattern":"^a","maxLength":9}`, "/maxLength", "beside pattern"},
		{"pattern with minLength", `{"type":"string","pattern":"^a?$","minLength":1}`, "/minLength", "beside pattern"},
		{"lookahead", `{"properties":{"p":{"type":"string","pattern":"^(?=a)b"}}}`, "/properties/p/pattern", "lookaround"},
		{"backreference", `{"type":"string","pattern":"(a)\\1"}`, "/pattern", "backreferences"},
		{"word boundary", `{"type":"string","pattern":"\\bword"}`, "/pattern", "word boundaries"},
		{"inner anchor", `{"type":"string","pattern":"a(^b)"}`, "/pattern", "^ other than"},
		{"nullable repeat", `{"type":"string","pattern":"(a?)*"}`, "/pattern", "empty string"},
		{"big pattern count", `{"type":"string","pattern":"a{5000}"}`, "/pattern", "above 1000"},
		{"unbalanced", `{"type":"string","pattern":"(a"}`, "/pattern", "missing )"},
		{"remote ref", `{"$ref":"https://example.com/s.json"}`, "/$ref", "only references within the schema"},
		{"missing ref", `{"properties":{"a":{"$ref":"#/$defs/nope"}}}`, "/properties/a/$ref", "names nothing"},
		{"left recursion", `{"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"type":"null"}]}},"$ref":"#/$defs/a"}`, "/$defs/a", "without producing"},
		{"allOf cycle", `{"$defs":{"a":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}`, "/$defs/a/allOf/0/$ref", "refers back"},
		{"infinite required recursion", `{"$defs":{"n":{"type":"object","properties":{"n":{"$ref":"#/$defs/n"}},"required":["n"]}},"$ref":"#/$defs/n"}`, "", "no finite JSON value"},
		{"false root", `false`, "", "no finite JSON value"},
		{"required false member", `{"properties":{"a":false},"required":["a"]}`, "/properties/a", `required property "a" admits no value`},
		{"required undeclared and closed", `{"required":["a"],"additionalProperties":false}`, "/required/0", "additionalProperties is false"},
		{"maxItems too big", `{"type":"array","maxItems":1000000000}`, "/maxItems", "maxItems above 1000"},
		{"minLength too big", `{"type":"string","minLength":5000}`, "/minLength", "above 1000"},
		{"minItems over maxItems", `{"type":"array","minItems":3,"maxItems":2}`, "/minItems", "more than the array can hold"},
		{"minItems over tuple", `{"type":"array","prefixItems":[{}],"items":false,"minItems":2}`, "/minItems", "more than the array can hold"},
		{"minLength over maxLength", `{"type":"string","minLength":3,"maxLength":2}`, "/maxLength", "less than minLength"},
		{"negative count", `{"type":"array","minItems":-1}`, "/minItems", "non-negative integer"},
		{"minProperties", `{"type":"object","properties":{"a":{}},"minProperties":1}`, "/minProperties", "minProperties"},
		{"maxProperties", `{"type":"object","properties":{"a":{},"b":{}},"maxProperties":1}`, "/maxProperties", "maxProperties"},
		{"enum beside other keywords", `{"type":"string","enum":["a"],"maxLength":3}`, "/maxLength", "beside enum"},
		{"enum of the wrong type", `{"type":"string","enum":[1,2]}`, "/enum", "no value of enum"},
		{"empty enum", `{"enum":[]}`, "/enum", "non-empty"},
		{"unknown type", `{"type":"float"}`, "/type", "unknown type"},
		{"schema not an object", `{"properties":{"a":3}}`, "/properties/a", "must be an object or a boolean"},
		{"allOf conflict", `{"allOf":[{"type":"string","pattern":"a"},{"pattern":"b"}]}`, "/allOf/1/pattern", "different values"},
		{"allOf closed", `{"allOf":[{"properties":{"a":{}},"additionalProperties":false},{"properties":{"b":{}}}]}`, "/allOf/0/additionalProperties", "additionalProperties in one allOf branch"},
		{"allOf no common type", `{"allOf":[{"type":"string"},{"type":"integer"}]}`, "/allOf/1/type", "no common type"},
		{"invalid JSON", `{"type":`, "/type", "invalid JSON"},
		{"duplicate member", `{"type":"string","type":"null"}`, "/type", "appears twice"},
		{"trailing data", `{} {}`, "", "data after"},
		{"too deep", strings.Repeat(`{"items":`, 70) + `{}` + strings.Repeat(`}`, 70), strings.Repeat("/items", 64), "nested deeper"},
		{"anyOf and oneOf", `{"anyOf":[{}],"oneOf":[{}]}`, "/oneOf", "anyOf and oneOf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := SchemaToGBNF([]byte(tc.schema), SchemaOptions{})
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SchemaError\n%s", err, out)
			}
			if se.Path != tc.path || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("got path %q reason %q, want path %q reason containing %q", se.Path, se.Reason, tc.path, tc.reason)
			}
			if strings.Contains(se.Error(), "\n") {
				t.Errorf("message is more than one line: %q", se.Error())
			}
		})
	}
}

func TestSchemaIgnoresAnnotations(t *testing.T) {
	plain, err := SchemaToGBNF([]byte(`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`), SchemaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	annotated, err := SchemaToGBNF([]byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://x.example/s","title":"T","description":"D","$comment":"c",
		"type":"object","properties":{"a":{"type":"string","default":"x","examples":["y"],"deprecated":true,"readOnly":true,"writeOnly":false,"title":"A"}},"required":["a"]}`), SchemaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plain != annotated {
		t.Errorf("annotations changed the grammar:\n%s\nvs\n%s", plain, annotated)
	}
}

func TestSchemaErrorMessage(t *testing.T) {
	_, err := SchemaToGBNF([]byte(`{"properties":{"age":{"type":"integer","not":{"const":2}}}}`), SchemaOptions{})
	want := `json schema: keyword "not" is not supported (at /properties/age/not)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestSchemaPointerEscapes(t *testing.T) {
	_, err := SchemaToGBNF([]byte(`{"properties":{"a/b~c":{"not":{}}}}`), SchemaOptions{})
	var se *SchemaError
	if !errors.As(err, &se) || se.Path != "/properties/a~1b~0c/not" {
		t.Fatalf("got %v", err)
	}
	// A $ref uses the same escapes.
	g, err := FromJSONSchema([]byte(`{"$defs":{"a/b":{"const":7}},"$ref":"#/$defs/a~1b"}`), SchemaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Accepts("7") || g.Accepts("8") {
		t.Error("the reference does not lead to its definition")
	}
}

func TestJSONObjectGrammar(t *testing.T) {
	g := JSONObject()
	if g != JSONObject() {
		t.Error("JSONObject builds its grammar more than once")
	}
	for _, s := range []string{`{}`, `{"a":1}`, `{ "a" : [1, {"b": null}] , "c":"d" }`, "{\n  \"k\": true\n}"} {
		if !g.Accepts(s) {
			t.Errorf("rejects %s", s)
		}
	}
	for _, s := range []string{`[]`, `1`, `"x"`, `{`, `{"a"}`, `{"a":1,}`, ` {}`, `{}x`, `{  }`} {
		if g.Accepts(s) {
			t.Errorf("accepts %s", s)
		}
	}
	if !strings.HasPrefix(JSONObjectGBNF(), "root ::= json-object\n") {
		t.Errorf("unexpected grammar:\n%s", JSONObjectGBNF())
	}
}

// TestSchemaToGBNFText pins the text of one small grammar: members in
// schema order, the optional one in a group, the enum as literals, the
// integer range digit by digit, bounded whitespace.
func TestSchemaToGBNFText(t *testing.T) {
	schema := `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":120},"kind":{"enum":["a","b"]}},"required":["name","kind"]}`
	want := `root ::= s
s ::= "{" ws "\"name\"" ws ":" ws json-string ws ("," ws "\"age\"" ws ":" ws integer ws)? "," ws "\"kind\"" ws ":" ws kind ws "}"
json-string ::= "\"" json-char* "\""
integer ::= [0-9] | [1-9] [0-9] | "1" ([0-1] [0-9] | "20")
kind ::= "\"a\"" | "\"b\""
ws ::= (" " | "\x0A" [\x09\x20]{0,20})?
json-char ::= [^\x00-\x1F\"\\] | "\\" ([\"/\\bfnrt] | "u" ([0-9A-CE-Fa-ce-f] [0-9A-Fa-f]{3} | [Dd] [0-7] [0-9A-Fa-f]{2}))
`
	for range 2 { // and the same every time
		got, err := SchemaToGBNF([]byte(schema), SchemaOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	}
}
