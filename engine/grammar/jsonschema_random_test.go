package grammar

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// schemaGen builds random schemas from the keywords the compiler supports,
// combined as real schemas combine them, to find combinations whose
// grammar admits an invalid instance.
type schemaGen struct {
	rng *rand.Rand
}

func (g *schemaGen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

func (g *schemaGen) schema(depth int) string {
	if depth <= 0 {
		return g.leaf()
	}
	switch g.rng.IntN(10) {
	case 0, 1, 2:
		return g.object(depth)
	case 3, 4:
		return g.array(depth)
	case 5:
		return fmt.Sprintf(`{"anyOf":[%s,%s]}`, g.schema(depth-1), g.schema(depth-1))
	case 6:
		// allOf of two objects, sharing a property.
		return fmt.Sprintf(`{"allOf":[{"type":"object","properties":{"a":%s,"b":%s},"required":["a"]},{"properties":{"a":%s,"c":%s},"required":[%s]}]}`,
			g.leaf(), g.leaf(), g.numberish(), g.schema(depth-1), g.pick(`"c"`, `"a"`, `"b"`))
	case 7:
		// A type with anyOf of required sets beside it.
		return fmt.Sprintf(`{"type":"object","properties":{"x":%s,"y":%s},"anyOf":[{"required":["x"]},{"required":["y"]},{"properties":{"x":{"type":"integer","minimum":-3,"maximum":3}}}]}`,
			g.leaf(), g.leaf())
	default:
		return g.leaf()
	}
}

func (g *schemaGen) numberish() string {
	return g.pick(`{"type":"integer"}`, `{"type":"integer","minimum":-20}`, `{"type":"number","maximum":5}`, `{}`, `true`)
}

func (g *schemaGen) object(depth int) string {
	var props, required []string
	n := g.rng.IntN(4)
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		if g.rng.IntN(5) == 0 {
			name = g.pick(`q"uote`, `back\\slash`, "é", "p", "")
		}
		props = append(props, fmt.Sprintf(`%q:%s`, name, g.schema(depth-1)))
		if g.rng.IntN(2) == 0 {
			required = append(required, fmt.Sprintf("%q", name))
		}
	}
	if g.rng.IntN(6) == 0 {
		required = append(required, `"undeclared"`)
	}
	s := fmt.Sprintf(`{"type":"object","properties":{%s}`, strings.Join(props, ","))
	if len(required) > 0 {
		s += `,"required":[` + strings.Join(required, ",") + `]`
	}
	switch g.rng.IntN(4) {
	case 0:
		s += `,"additionalProperties":true`
	case 1:
		s += `,"additionalProperties":` + g.leaf()
	case 2:
		if !strings.Contains(s, "undeclared") {
			s += `,"additionalProperties":false`
		}
	}
	return s + "}"
}

func (g *schemaGen) array(depth int) string {
	var parts []string
	if g.rng.IntN(3) == 0 {
		parts = append(parts, fmt.Sprintf(`"prefixItems":[%s,%s]`, g.schema(depth-1), g.leaf()))
	}
	switch g.rng.IntN(3) {
	case 0:
		parts = append(parts, `"items":`+g.schema(depth-1))
	case 1:
		parts = append(parts, `"items":false`)
	}
	lo := g.rng.IntN(3)
	parts = append(parts, fmt.Sprintf(`"minItems":%d`, lo))
	if g.rng.IntN(2) == 0 {
		parts = append(parts, fmt.Sprintf(`"maxItems":%d`, lo+g.rng.IntN(3)))
	}
	return `{"type":"array",` + strings.Join(parts, ",") + `}`
}

func (g *schemaGen) leaf() string {
	switch g.rng.IntN(15) {
	case 0:
		return fmt.Sprintf(`{"type":"string","minLength":%d,"maxLength":%d}`, g.rng.IntN(3), 3+g.rng.IntN(3))
	case 1:
		return `{"type":"string","pattern":"` + g.pick(`^[a-c]+$`, `x`, `^(ab|c)\\d?$`, `^[^\\s]{2}`, `\\.$`, `^\\w*-\\w*$`) + `"}`
	case 2:
		return `{"type":"string","format":"` + g.pick("date", "time", "date-time", "uuid", "email", "hostname", "ipv4", "duration", "uri") + `"}`
	case 3:
		lo := g.rng.IntN(41) - 20
		return fmt.Sprintf(`{"type":"integer","%s":%d,"%s":%d}`, g.pick("minimum", "exclusiveMinimum"), lo,
			g.pick("maximum", "exclusiveMaximum"), lo+2+g.rng.IntN(1500))
	case 4:
		if g.rng.IntN(2) == 0 {
			lo := g.rng.IntN(200) - 100
			return fmt.Sprintf(`{"type":"%s","minimum":%d,"maximum":%d,"multipleOf":%d}`, g.pick("integer", "number"), lo, lo+g.rng.IntN(300), 1+g.rng.IntN(12))
		}
		return fmt.Sprintf(`{"type":"integer","minimum":%d.5}`, g.rng.IntN(200)-100)
	case 5:
		lo := g.rng.IntN(11) - 5
		return fmt.Sprintf(`{"type":"number","%s":%d,"%s":%d}`, g.pick("minimum", "exclusiveMinimum"), lo,
			g.pick("maximum", "exclusiveMaximum"), lo+1+g.rng.IntN(3))
	case 6:
		if g.rng.IntN(2) == 0 {
			lo := float64(g.rng.IntN(2001)-1000) / 100
			return fmt.Sprintf(`{"type":"number","%s":%g,"%s":%g}`, g.pick("minimum", "exclusiveMinimum"), lo,
				g.pick("maximum", "exclusiveMaximum"), lo+float64(1+g.rng.IntN(300))/1000)
		}
		return fmt.Sprintf(`{"type":"number","%s":%g}`, g.pick("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"), float64(g.rng.IntN(61)-30)/10)
	case 7:
		return `{"enum":["a",1,null,{"k":[1.5]},"\"q\""]}`
	case 8:
		return `{"const":` + g.pick(`"x"`, `0`, `[true]`, `{}`) + `}`
	case 9:
		return `{"type":` + g.pick(`["string","null"]`, `["integer","boolean"]`, `["number","integer"]`, `"boolean"`, `"null"`) + `}`
	case 10:
		return `{}`
	case 11:
		return `{"type":"string"}`
	case 12:
		return `{"type":["integer","string"],"minimum":0,"maxLength":2}`
	case 13:
		return g.pick(`{"type":"string","pattern":"^[a-c]{1,3}$","minLength":1,"maxLength":3}`, `{"type":"string","format":"uri","maxLength":2083}`)
	}
	return `{"type":"number"}`
}

// TestSchemaRandomSchemas compiles random schemas and walks their
// grammars: every text written must validate.
func TestSchemaRandomSchemas(t *testing.T) {
	schemas := 300
	if testing.Short() {
		schemas = 40
	}
	v := schemaByteVocab()
	compiled := 0
	reasons := map[string]int{}
	for i := range schemas {
		gen := &schemaGen{rng: rand.New(rand.NewPCG(uint64(i), 7))}
		schema := gen.schema(3)
		if i%5 == 0 {
			// Recursion through $defs.
			schema = fmt.Sprintf(`{"$defs":{"t":{"type":"object","properties":{"v":%s,"kids":{"type":"array","items":{"$ref":"#/$defs/t"},"maxItems":2}},"required":["v"]}},"$ref":"#/$defs/t"}`, gen.leaf())
		}
		g, err := FromJSONSchema([]byte(schema), SchemaOptions{Strict: i%7 == 0})
		if err != nil {
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("%s: %v", schema, err)
			}
			reasons[se.Reason]++
			continue
		}
		compiled++
		sch := schemaValidator(t, schema)
		rng := rand.New(rand.NewPCG(uint64(i), 8))
		for range 5 {
			s, ok := randomWalk(t, g, v, rng, closers+"abcx")
			if !ok {
				t.Fatalf("%s\nthe walk stopped after %q", schema, s)
			}
			if !json.Valid([]byte(s)) {
				t.Fatalf("%s\nnot JSON: %q", schema, s)
			}
			if err := validateInstance(sch, s); err != nil {
				src, _ := SchemaToGBNF([]byte(schema), SchemaOptions{Strict: i%7 == 0})
				t.Fatalf("%s\n%q does not validate: %v\n%s", schema, s, err, src)
			}
		}
	}
	t.Logf("%d of %d compiled; refusals: %v", compiled, schemas, reasons)
	if compiled < schemas/2 {
		t.Errorf("only %d of %d random schemas compiled", compiled, schemas)
	}
}

// TestSchemaNumberRanges compares bounded number and integer grammars
// with exact arithmetic: a numeral in the grammar's form (no exponent, no
// leading zeros, no "-0") is accepted exactly when its value is in range.
func TestSchemaNumberRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	decimal := func(maxInt, fracDigits int) string {
		s := fmt.Sprint(rng.IntN(maxInt + 1))
		if n := rng.IntN(fracDigits + 1); n > 0 {
			s += "."
			for range n {
				s += fmt.Sprint(rng.IntN(10))
			}
		}
		if rng.IntN(2) == 0 && strings.Trim(s, "0.") != "" {
			s = "-" + s
		}
		return s
	}
	for range 300 {
		integer := rng.IntN(3) == 0
		var parts []string
		type bound struct {
			v    *big.Rat
			excl bool
			low  bool
		}
		var bounds []bound
		for _, low := range []bool{true, false} {
			if rng.IntN(4) == 0 {
				continue
			}
			key, excl := "minimum", rng.IntN(2) == 0
			if !low {
				key = "maximum"
			}
			if excl {
				key = "exclusiveM" + key[1:]
			}
			text := decimal(30, 3)
			v, _ := new(big.Rat).SetString(text)
			parts = append(parts, fmt.Sprintf("%q:%s", key, text))
			bounds = append(bounds, bound{v, excl, low})
		}
		typ := "number"
		if integer {
			typ = "integer"
		}
		schema := fmt.Sprintf(`{"type":%q%s}`, typ, strings.Join(append([]string{""}, parts...), ","))
		g, err := FromJSONSchema([]byte(schema), SchemaOptions{})
		if err != nil {
			var se *SchemaError
			if errors.As(err, &se) && strings.HasPrefix(se.Reason, "no ") {
				continue // an empty range
			}
			t.Fatalf("%s: %v", schema, err)
		}
		for range 200 {
			text := decimal(40, 5)
			if integer {
				text = decimal(40, 0)
			}
			v, _ := new(big.Rat).SetString(text)
			want := true
			for _, b := range bounds {
				c := v.Cmp(b.v)
				if !b.low {
					c = -c
				}
				if c < 0 || c == 0 && b.excl {
					want = false
				}
			}
			if got := g.Accepts(text); got != want {
				src, _ := SchemaToGBNF([]byte(schema), SchemaOptions{})
				t.Fatalf("%s: Accepts(%s) = %v, want %v\n%s", schema, text, got, want, src)
			}
		}
	}
}
