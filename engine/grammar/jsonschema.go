package grammar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// SchemaOptions changes how a schema is compiled.
type SchemaOptions struct {
	// Strict generates every declared property of every object, and no
	// property it does not declare, whatever required and
	// additionalProperties say: the shape OpenAI's strict mode demands of
	// the schema (all properties required, additionalProperties false),
	// applied to the output instead of refusing the schema. A member that
	// refers back to a schema enclosing it stays optional unless required,
	// or no object could ever end.
	Strict bool
}

// SchemaError says why a schema cannot be compiled: it is not valid JSON
// Schema, it uses a keyword the grammar cannot enforce, no value satisfies
// it, or it is beyond the size limits.
type SchemaError struct {
	// Path is the JSON pointer (RFC 6901) of the offending value within
	// the schema document, such as "/properties/age/minimum"; "" is the
	// whole document.
	Path   string
	Reason string
}

func (e *SchemaError) Error() string {
	at := e.Path
	switch {
	case at == "":
		at = "the root"
	case strings.ContainsFunc(at, unicode.IsControl):
		at = strconv.Quote(at) // keep the message on one line
	}
	return fmt.Sprintf("json schema: %s (at %s)", e.Reason, at)
}

// Limits on what a schema may ask for, so that a hostile schema cannot make
// a grammar that is too big to build or to match with.
const (
	// maxRepeat bounds counts the grammar must spell out: minItems,
	// maxItems, minLength, maxLength, and a pattern's {n,m}. A GBNF reader
	// expands x{0,n} into about n rules.
	maxRepeat = 1000
	// maxGrammarBytes bounds the GBNF text.
	maxGrammarBytes = 1 << 20
	// maxCompileSteps bounds the subschemas compiled, counting every
	// allOf merge and every expansion of one $ref into another.
	maxCompileSteps = 20000
)

// SchemaToGBNF compiles a JSON Schema document (drafts 4 to 2020-12; the
// keywords supported are listed in docs/design.md) into a GBNF grammar whose
// start rule is root and whose sentences are JSON texts the schema accepts.
//
// The grammar admits a subset of the schema's instances, never more: where
// the schema leaves a choice open the grammar may take the narrower road
// (members the schema does not declare are not generated unless
// additionalProperties asks for them; numbers have at most 16 integer and
// 16 fraction digits; \u escapes never name a surrogate). What the grammar
// cannot enforce is refused with a *SchemaError naming the keyword, never
// silently dropped.
//
// Whitespace: between any two JSON tokens the grammar allows nothing, one
// space, or one newline followed by up to 20 spaces or tabs, and nothing
// before or after the value. A model may pretty-print, but cannot spend its
// tokens on endless whitespace: small models left free to do so fall into
// loops of spaces and newlines that never end.
func SchemaToGBNF(schema []byte, opts SchemaOptions) (string, error) {
	doc, err := decodeSchemaDocument(schema)
	if err != nil {
		return "", err
	}
	c := newCompiler(doc, opts)
	// The root rule is the document's, so that "$ref": "#" leads back to it.
	c.define("root", gNone{}, "")
	c.refs[""] = "root"
	root, err := c.compile(doc)
	if err != nil {
		return "", err
	}
	c.rules["root"] = root
	return c.finish()
}

// FromJSONSchema compiles a JSON Schema into a Grammar (SchemaToGBNF, then
// Parse). Errors for the schema are *SchemaError, a grammar too large to
// match with included.
func FromJSONSchema(schema []byte, opts SchemaOptions) (*Grammar, error) {
	src, err := SchemaToGBNF(schema, opts)
	if err != nil {
		return nil, err
	}
	g, err := Parse(src)
	if errors.Is(err, ErrLimit) {
		return nil, &SchemaError{Path: "", Reason: "the schema's grammar is too large: " + err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("grammar: the grammar compiled from a JSON schema does not parse: %w", err)
	}
	return g, nil
}

// JSONObject returns the grammar of any JSON object, for OpenAI's
// response_format {"type": "json_object"}. It is built once and shared:
// a Grammar is immutable.
func JSONObject() *Grammar { return jsonObjectGrammar() }

// JSONObjectGBNF returns JSONObject's grammar as GBNF text.
func JSONObjectGBNF() string { return jsonObjectText() }

var (
	jsonObjectText    = sync.OnceValue(jsonObjectGBNF)
	jsonObjectGrammar = sync.OnceValue(func() *Grammar {
		g, err := Parse(jsonObjectText())
		if err != nil {
			panic("grammar: the JSON object grammar does not parse: " + err.Error())
		}
		return g
	})
)

// jsonObjectGBNF is the grammar of any JSON object, for OpenAI's
// response_format {"type": "json_object"}.
func jsonObjectGBNF() string {
	c := newCompiler(nil, SchemaOptions{})
	c.define("root", c.prim("json-object"), "")
	out, err := c.finish()
	if err != nil {
		panic("grammar: the JSON object grammar does not build: " + err.Error())
	}
	return out
}

// compiler holds the rules made so far for one schema.
type compiler struct {
	opts   SchemaOptions
	doc    *jsonNode
	rules  map[string]gexpr
	order  []string
	origin map[string]string // rule → schema path, for error messages
	bodies map[string]string // written body → rule, to share identical rules
	refs   map[string]string // $ref target path → rule
	// expanding lists the $ref targets being expanded in place (for allOf)
	// on the way to the current subschema: a target met again is a cycle.
	expanding []string
	steps     int
}

func newCompiler(doc *jsonNode, opts SchemaOptions) *compiler {
	return &compiler{
		opts:   opts,
		doc:    doc,
		rules:  map[string]gexpr{},
		origin: map[string]string{},
		bodies: map[string]string{},
		refs:   map[string]string{},
	}
}

func errAt(n *jsonNode, format string, args ...any) *SchemaError {
	return &SchemaError{Path: n.path, Reason: fmt.Sprintf(format, args...)}
}

// ---- rules ----

// reserve picks an unused rule name from a hint (a property or definition
// name), keeping only the characters rule names may have.
func (c *compiler) reserve(hint, path string) string {
	var b strings.Builder
	for _, r := range hint {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 24 {
			break
		}
	}
	base := strings.Trim(b.String(), "-")
	if base == "" || base == "root" || base == "ws" || strings.HasPrefix(base, "json-") {
		base = "s-" + base
		base = strings.TrimSuffix(base, "-")
	}
	name := base
	for i := 2; ; i++ {
		if _, taken := c.rules[name]; !taken {
			break
		}
		name = base + "-" + strconv.Itoa(i)
	}
	c.rules[name] = gNone{} // placeholder until defined
	c.order = append(c.order, name)
	c.origin[name] = path
	return name
}

// define sets a rule's body; root and the primitive rules have fixed names.
func (c *compiler) define(name string, body gexpr, path string) {
	if _, ok := c.rules[name]; !ok {
		c.order = append(c.order, name)
		c.origin[name] = path
	}
	c.rules[name] = body
}

// named returns a reference to a rule with the given body, sharing a rule
// already made with the same body. Literals, references and single
// characters are returned as they are.
func (c *compiler) named(hint string, body gexpr, path string) gexpr {
	switch body.(type) {
	case gRef, gLit, gClass, gNone, gEps:
		return body
	}
	var b strings.Builder
	renderExpr(&b, body, precAlt)
	if name, ok := c.bodies[b.String()]; ok {
		return gRef(name)
	}
	name := c.reserve(hint, path)
	c.rules[name] = body
	c.bodies[b.String()] = name
	return gRef(name)
}

// finish removes what can never complete, checks the grammar and writes it.
func (c *compiler) finish() (string, error) {
	productive := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, name := range c.order {
			if !productive[name] && exprProductive(c.rules[name], productive) {
				productive[name], changed = true, true
			}
		}
	}
	if !productive["root"] {
		return "", &SchemaError{Path: "", Reason: "no finite JSON value satisfies the schema"}
	}
	for _, name := range c.order {
		if productive[name] {
			c.rules[name] = pruneExpr(c.rules[name], productive)
		}
	}

	// Keep the rules root reaches, root first.
	reached := map[string]bool{"root": true}
	live := []string{"root"}
	for i := 0; i < len(live); i++ {
		refs := map[string]bool{}
		collectRefs(c.rules[live[i]], refs)
		for _, name := range c.order {
			if refs[name] && !reached[name] {
				reached[name] = true
				live = append(live, name)
			}
		}
	}

	nullable := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, name := range live {
			if !nullable[name] && exprNullable(c.rules[name], nullable) {
				nullable[name], changed = true, true
			}
		}
	}
	if name := leftRecursive(live, c.rules, nullable); name != "" {
		return "", &SchemaError{Path: c.origin[name], Reason: "recursive reference that can repeat without producing any output"}
	}
	for _, name := range live {
		if openNullableRep(c.rules[name], nullable) {
			return "", &SchemaError{Path: c.origin[name], Reason: "a repetition of something that can be empty"}
		}
	}

	var b strings.Builder
	for _, name := range live {
		b.WriteString(name)
		b.WriteString(" ::= ")
		renderExpr(&b, c.rules[name], precAlt)
		b.WriteByte('\n')
		if b.Len() > maxGrammarBytes {
			return "", &SchemaError{Path: "", Reason: fmt.Sprintf("the grammar would be larger than %d bytes", maxGrammarBytes)}
		}
	}
	return b.String(), nil
}

func collectRefs(e gexpr, out map[string]bool) {
	switch e := e.(type) {
	case gRef:
		out[string(e)] = true
	case gSeq:
		for _, x := range e {
			collectRefs(x, out)
		}
	case gAlt:
		for _, x := range e {
			collectRefs(x, out)
		}
	case gRep:
		collectRefs(e.x, out)
	}
}

// leftRecursive returns a rule that can reach itself before reading a
// character, or "".
func leftRecursive(names []string, rules map[string]gexpr, nullable map[string]bool) string {
	edges := map[string][]string{}
	for _, name := range names {
		first := map[string]bool{}
		leftRefs(rules[name], nullable, first)
		for _, other := range names {
			if first[other] {
				edges[name] = append(edges[name], other)
			}
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var visit func(string) string
	visit = func(name string) string {
		state[name] = onPath
		for _, next := range edges[name] {
			switch state[next] {
			case onPath:
				return next
			case unseen:
				if found := visit(next); found != "" {
					return found
				}
			}
		}
		state[name] = done
		return ""
	}
	for _, name := range names {
		if state[name] == unseen {
			if found := visit(name); found != "" {
				return found
			}
		}
	}
	return ""
}

// ---- primitive rules ----

func digit() gexpr { return class(runeRange{'0', '9'}) }

func hexDigit() gexpr {
	return class(runeRange{'0', '9'}, runeRange{'a', 'f'}, runeRange{'A', 'F'})
}

// stringRawChars are the characters a JSON string may hold unescaped.
var stringRawChars = subtractRanges(complementRanges(nil), gClass{{0, 0x1F}, {'"', '"'}, {'\\', '\\'}})

// prim returns a reference to one of the fixed rules, defining it on first
// use.
func (c *compiler) prim(name string) gexpr {
	if _, ok := c.rules[name]; ok {
		return gRef(name)
	}
	c.define(name, gNone{}, "") // reserve, for the recursive ones
	var body gexpr
	switch name {
	case "ws":
		body = opt(alt(lit(" "), seq(lit("\n"), rep(class(runeRange{' ', ' '}, runeRange{'\t', '\t'}), 0, 20))))
	case "json-char":
		// One character of a string, raw or escaped. \u escapes name no
		// surrogate, so that every unit is exactly one character and
		// minLength/maxLength count what validators count; characters
		// beyond the BMP are written as themselves.
		u := alt(
			seq(class(runeRange{'0', '9'}, runeRange{'a', 'c'}, runeRange{'A', 'C'}, runeRange{'e', 'f'}, runeRange{'E', 'F'}), rep(hexDigit(), 3, 3)),
			seq(class(runeRange{'d', 'd'}, runeRange{'D', 'D'}), class(runeRange{'0', '7'}), rep(hexDigit(), 2, 2)),
		)
		body = alt(
			stringRawChars,
			seq(lit(`\`), alt(class(runeRange{'"', '"'}, runeRange{'\\', '\\'}, runeRange{'/', '/'},
				runeRange{'b', 'b'}, runeRange{'f', 'f'}, runeRange{'n', 'n'}, runeRange{'r', 'r'}, runeRange{'t', 't'}),
				seq(lit("u"), u))),
		)
	case "json-string":
		body = seq(lit(`"`), rep(c.prim("json-char"), 0, -1), lit(`"`))
	case "json-integer":
		body = seq(opt(lit("-")), unsignedInteger())
	case "json-number":
		body = seq(opt(lit("-")), unsignedInteger(), opt(fraction()),
			opt(seq(class(runeRange{'e', 'e'}, runeRange{'E', 'E'}), opt(class(runeRange{'+', '+'}, runeRange{'-', '-'})), rep(digit(), 1, 2))))
	case "json-value":
		body = alt(c.prim("json-object"), c.prim("json-array"), c.prim("json-string"), c.prim("json-number"),
			lit("true"), lit("false"), lit("null"))
	case "json-object":
		ws := c.prim("ws")
		member := seq(c.prim("json-string"), ws, lit(":"), ws, c.prim("json-value"), ws)
		body = seq(lit("{"), ws, opt(seq(member, rep(seq(lit(","), ws, member), 0, -1))), lit("}"))
	case "json-array":
		ws := c.prim("ws")
		element := seq(c.prim("json-value"), ws)
		body = seq(lit("["), ws, opt(seq(element, rep(seq(lit(","), ws, element), 0, -1))), lit("]"))
	default:
		panic("grammar: unknown primitive rule " + name)
	}
	c.rules[name] = body
	return gRef(name)
}

// unsignedInteger is a JSON integer's digits: 0, or up to 16 digits with no
// leading zero.
func unsignedInteger() gexpr {
	return alt(lit("0"), seq(class(runeRange{'1', '9'}), rep(digit(), 0, 15)))
}

// fraction is a decimal point and 1 to 16 digits.
func fraction() gexpr { return seq(lit("."), rep(digit(), 1, 16)) }
