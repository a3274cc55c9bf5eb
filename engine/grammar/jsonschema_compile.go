package grammar

import (
	"cmp"
	"errors"
	"math/big"
	"slices"
	"strings"
)

// annotations are keywords that constrain nothing; they are ignored.
// $defs and definitions only hold schemas for $ref.
var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "example": true,
	"$schema": true, "$id": true, "id": true, "$comment": true, "deprecated": true,
	"readOnly": true, "writeOnly": true, "$anchor": true, "$dynamicAnchor": true,
	"$vocabulary": true, "contentEncoding": true, "contentMediaType": true, "contentSchema": true,
	"$defs": true, "definitions": true,
}

// unsupported are constraining keywords the grammar cannot enforce.
// Keywords that are neither known here nor handled by the compiler are
// ignored, as validators ignore unknown keywords.
var unsupported = map[string]string{
	"not":                   "",
	"if":                    "",
	"then":                  "",
	"else":                  "",
	"dependentRequired":     "",
	"dependentSchemas":      "",
	"dependencies":          "",
	"patternProperties":     "",
	"propertyNames":         "",
	"unevaluatedProperties": "",
	"unevaluatedItems":      "",
	"contains":              "",
	"minContains":           "",
	"maxContains":           "",
	"$dynamicRef":           "",
	"$recursiveRef":         "",
	"uniqueItems":           "",
}

// typeNames are the JSON Schema types, in the order their alternatives are
// written.
var typeNames = []string{"object", "array", "string", "number", "integer", "boolean", "null"}

type typeSet uint8

const (
	tObject typeSet = 1 << iota
	tArray
	tString
	tNumber
	tInteger
	tBoolean
	tNull
	tAll = tObject | tArray | tString | tNumber | tInteger | tBoolean | tNull
)

func typeBit(name string) typeSet {
	if i := slices.Index(typeNames, name); i >= 0 {
		return 1 << i
	}
	return 0
}

// Keywords that imply a type when a schema has none: a schema with only
// "properties" is generated as an object, not as any value.
var typeKeywords = map[string]typeSet{
	"properties": tObject, "required": tObject, "additionalProperties": tObject,
	"minProperties": tObject, "maxProperties": tObject,
	"items": tArray, "prefixItems": tArray, "additionalItems": tArray,
	"minItems": tArray, "maxItems": tArray,
	"minLength": tString, "maxLength": tString, "pattern": tString, "format": tString,
	"minimum": tNumber, "maximum": tNumber, "exclusiveMinimum": tNumber, "exclusiveMaximum": tNumber,
	"multipleOf": tNumber,
}

// compile returns an expression for the JSON texts a schema accepts.
func (c *compiler) compile(n *jsonNode) (gexpr, error) {
	c.steps++
	if c.steps > maxCompileSteps {
		return nil, errAt(n, "the schema is too complex (more than %d subschemas to compile)", maxCompileSteps)
	}
	switch n.kind {
	case jsonBool:
		if n.boolean {
			return c.prim("json-value"), nil
		}
		return gNone{}, nil
	case jsonObject:
	default:
		return nil, errAt(n, "a schema must be an object or a boolean, not %s", n.kind)
	}
	for _, m := range n.members {
		if _, ok := unsupported[m.key]; ok {
			if m.key == "uniqueItems" && m.value.kind == jsonBool && !m.value.boolean {
				continue
			}
			return nil, errAt(m.value, "keyword %q is not supported", m.key)
		}
	}

	if ref := n.get("$ref"); ref != nil {
		if rest := without(n, "$ref"); constraining(rest) {
			return c.compileAllOf(n, []*jsonNode{{kind: jsonObject, path: n.path, members: []jsonMember{{"$ref", ref}}}, rest})
		}
		return c.ref(ref)
	}
	if all := n.get("allOf"); all != nil {
		if all.kind != jsonArray || len(all.items) == 0 {
			return nil, errAt(all, "allOf must be a non-empty array of schemas")
		}
		parts := slices.Clone(all.items)
		if rest := without(n, "allOf"); constraining(rest) {
			parts = append(parts, rest)
		}
		return c.compileAllOf(n, parts)
	}
	anyOf, oneOf := n.get("anyOf"), n.get("oneOf")
	if anyOf != nil && oneOf != nil {
		return nil, errAt(oneOf, "anyOf and oneOf in one schema are not supported")
	}
	if branches := cmp.Or(anyOf, oneOf); branches != nil {
		// oneOf is generated as anyOf: a value matching two branches
		// would break it, which schemas written for generation avoid.
		return c.compileAnyOf(n, branches)
	}
	if n.get("enum") != nil || n.get("const") != nil {
		return c.compileEnum(n)
	}

	types, err := schemaTypes(n)
	if err != nil {
		return nil, err
	}
	var alts []gexpr
	if types&tObject != 0 {
		e, err := c.compileObject(n)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	if types&tArray != 0 {
		e, err := c.compileArray(n)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	if types&tString != 0 {
		e, err := c.compileString(n)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	if types&(tNumber|tInteger) != 0 {
		e, err := c.compileNumber(n, types&tNumber == 0)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	if types&tBoolean != 0 {
		alts = append(alts, alt(lit("true"), lit("false")))
	}
	if types&tNull != 0 {
		alts = append(alts, lit("null"))
	}
	if types == tAll && n.get("type") == nil {
		return c.prim("json-value"), nil // no keyword that narrows it
	}
	return alt(alts...), nil
}

// without returns a schema object without some of its keywords.
func without(n *jsonNode, keys ...string) *jsonNode {
	out := &jsonNode{kind: jsonObject, path: n.path}
	for _, m := range n.members {
		if !slices.Contains(keys, m.key) {
			out.members = append(out.members, m)
		}
	}
	return out
}

// constraining reports whether a schema object has any keyword other than
// annotations.
func constraining(n *jsonNode) bool {
	for _, m := range n.members {
		if !annotations[m.key] {
			return true
		}
	}
	return false
}

// schemaTypes reads type, or infers the types from
// the keywords present when there is no type.
func schemaTypes(n *jsonNode) (typeSet, error) {
	var types typeSet
	t := n.get("type")
	switch {
	case t == nil:
		for _, m := range n.members {
			types |= typeKeywords[m.key]
		}
		if types == 0 {
			return tAll, nil
		}
	case t.kind == jsonString:
		types = typeBit(t.text)
		if types == 0 {
			return 0, errAt(t, "unknown type %q", t.text)
		}
	case t.kind == jsonArray && len(t.items) > 0:
		for _, item := range t.items {
			bit := typeBit(item.text)
			if item.kind != jsonString || bit == 0 {
				return 0, errAt(item, "unknown type %s", canonicalJSON(item))
			}
			types |= bit
		}
	default:
		return 0, errAt(t, "type must be a type name or a non-empty array of them")
	}
	return types, nil
}

// ref returns the rule for a $ref target, compiling it the first time: a
// recursive schema becomes a recursive rule.
func (c *compiler) ref(ref *jsonNode) (gexpr, error) {
	target, err := c.resolve(ref)
	if err != nil {
		return nil, err
	}
	if name, ok := c.refs[target.path]; ok {
		return gRef(name), nil
	}
	hint := target.path[strings.LastIndex(target.path, "/")+1:]
	name := c.reserve(hint, target.path)
	c.refs[target.path] = name
	saved := c.expanding
	c.expanding = nil // the rule is its own context: nothing is expanded in place around it
	body, err := c.compile(target)
	c.expanding = saved
	if err != nil {
		return nil, err
	}
	c.rules[name] = body
	return gRef(name), nil
}

func (c *compiler) resolve(ref *jsonNode) (*jsonNode, error) {
	if ref.kind != jsonString {
		return nil, errAt(ref, "$ref must be a string")
	}
	if !strings.HasPrefix(ref.text, "#") {
		return nil, errAt(ref, "only references within the schema (#/...) are supported, not %q", ref.text)
	}
	target, ok := resolvePointer(c.doc, ref.text)
	if !ok {
		return nil, errAt(ref, "$ref %q names nothing in the schema", ref.text)
	}
	return target, nil
}

// compileAnyOf compiles the alternatives, each together with the keywords
// beside anyOf (a type, properties shared by all branches).
func (c *compiler) compileAnyOf(n, branches *jsonNode) (gexpr, error) {
	if branches.kind != jsonArray || len(branches.items) == 0 {
		return nil, errAt(branches, "must be a non-empty array of schemas")
	}
	rest := without(n, "anyOf", "oneOf")
	var alts []gexpr
	for _, b := range branches.items {
		var e gexpr
		var err error
		if constraining(rest) {
			e, err = c.compileAllOf(b, []*jsonNode{rest, b})
		} else {
			e, err = c.compile(b)
		}
		var se *SchemaError
		if errors.As(err, &se) && se.Reason == reasonNoCommonType {
			continue // a branch of another type than the schema's: it adds nothing
		}
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	return alt(alts...), nil
}

// reasonNoCommonType is the refusal of an allOf whose branches share no
// type; within an anyOf branch it only removes the branch.
const reasonNoCommonType = "allOf branches allow no common type"

// compileAllOf merges the parts into one schema and compiles it. Merging
// covers what schemas written for generation use allOf for: a $ref to a
// base object extended with more properties, or constraints on different
// keywords; keywords that conflict in ways a merge cannot express are
// refused.
func (c *compiler) compileAllOf(at *jsonNode, parts []*jsonNode) (gexpr, error) {
	var merged *jsonNode
	for _, p := range parts {
		flat, err := c.flatten(p)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = flat
			continue
		}
		if merged, err = c.merge(merged, flat); err != nil {
			return nil, err
		}
	}
	return c.compile(merged)
}

// flatten returns a schema equal to n with no $ref or allOf at its top
// level, expanding them in place.
func (c *compiler) flatten(n *jsonNode) (*jsonNode, error) {
	c.steps++
	if c.steps > maxCompileSteps {
		return nil, errAt(n, "the schema is too complex (more than %d subschemas to compile)", maxCompileSteps)
	}
	if n.kind != jsonObject {
		return n, nil
	}
	if ref := n.get("$ref"); ref != nil {
		target, err := c.resolve(ref)
		if err != nil {
			return nil, err
		}
		if slices.Contains(c.expanding, target.path) {
			return nil, errAt(ref, "allOf through $ref %q refers back to itself", ref.text)
		}
		c.expanding = append(c.expanding, target.path)
		flat, err := c.flatten(target)
		c.expanding = c.expanding[:len(c.expanding)-1]
		if err != nil {
			return nil, err
		}
		rest := without(n, "$ref")
		if !constraining(rest) {
			return flat, nil
		}
		restFlat, err := c.flatten(rest)
		if err != nil {
			return nil, err
		}
		return c.merge(flat, restFlat)
	}
	if all := n.get("allOf"); all != nil {
		if all.kind != jsonArray || len(all.items) == 0 {
			return nil, errAt(all, "allOf must be a non-empty array of schemas")
		}
		merged, err := c.flatten(without(n, "allOf"))
		if err != nil {
			return nil, err
		}
		for _, p := range all.items {
			flat, err := c.flatten(p)
			if err != nil {
				return nil, err
			}
			if merged, err = c.merge(merged, flat); err != nil {
				return nil, err
			}
		}
		return merged, nil
	}
	return n, nil
}

var (
	mergeMax = map[string]bool{"minLength": true, "minItems": true, "minProperties": true, "minimum": true}
	mergeMin = map[string]bool{"maxLength": true, "maxItems": true, "maxProperties": true, "maximum": true}
)

// merge returns one schema that accepts what both flattened schemas
// accept.
func (c *compiler) merge(a, b *jsonNode) (*jsonNode, error) {
	if a.kind == jsonBool {
		if a.boolean {
			return b, nil
		}
		return a, nil
	}
	if b.kind == jsonBool {
		if b.boolean {
			return a, nil
		}
		return b, nil
	}
	for _, x := range []*jsonNode{a, b} {
		if x.kind != jsonObject {
			return nil, errAt(x, "a schema must be an object or a boolean, not %s", x.kind)
		}
	}
	if err := checkClosedMerge(a, b); err != nil {
		return nil, err
	}
	if err := checkClosedMerge(b, a); err != nil {
		return nil, err
	}
	out := &jsonNode{kind: jsonObject, path: a.path}
	for _, m := range a.members {
		other := b.get(m.key)
		if other == nil || annotations[m.key] {
			out.members = append(out.members, m)
			continue
		}
		v, err := c.mergeKeyword(m.key, m.value, other)
		if err != nil {
			return nil, err
		}
		out.members = append(out.members, jsonMember{m.key, v})
	}
	for _, m := range b.members {
		if a.get(m.key) == nil {
			out.members = append(out.members, m)
		}
	}
	return out, nil
}

// checkClosedMerge refuses merging a schema that restricts additional
// properties with one that declares properties the first does not: the
// restriction applies to them, which a merged schema cannot express.
func checkClosedMerge(a, b *jsonNode) error {
	addl := a.get("additionalProperties")
	if addl == nil || (addl.kind == jsonBool && addl.boolean) {
		return nil
	}
	declared := a.get("properties")
	var names []string
	if p := b.get("properties"); p != nil {
		for _, m := range p.members {
			names = append(names, m.key)
		}
	}
	if r := b.get("required"); r != nil {
		for _, item := range r.items {
			names = append(names, item.text)
		}
	}
	for _, name := range names {
		if declared.get(name) == nil {
			return errAt(addl, "additionalProperties in one allOf branch with property %q declared in another is not supported", name)
		}
	}
	return nil
}

func (c *compiler) mergeKeyword(key string, x, y *jsonNode) (*jsonNode, error) {
	switch {
	case jsonEqual(x, y):
		return x, nil
	case key == "type":
		tx, err := schemaTypes(&jsonNode{kind: jsonObject, members: []jsonMember{{"type", x}}})
		if err != nil {
			return nil, err
		}
		ty, err := schemaTypes(&jsonNode{kind: jsonObject, members: []jsonMember{{"type", y}}})
		if err != nil {
			return nil, err
		}
		// integer is a kind of number.
		if tx&tNumber != 0 {
			tx |= tInteger
		}
		if ty&tNumber != 0 {
			ty |= tInteger
		}
		both := tx & ty
		if both&tNumber != 0 {
			both &^= tInteger
		}
		out := &jsonNode{kind: jsonArray, path: x.path}
		for i, name := range typeNames {
			if both&(1<<i) != 0 {
				out.items = append(out.items, &jsonNode{kind: jsonString, text: name, path: x.path})
			}
		}
		if len(out.items) == 0 {
			return nil, errAt(y, reasonNoCommonType)
		}
		return out, nil
	case key == "properties" && x.kind == jsonObject && y.kind == jsonObject:
		out := &jsonNode{kind: jsonObject, path: x.path}
		for _, m := range x.members {
			v := m.value
			// The same schema twice needs no merge, which keeps a
			// recursive $ref declared in both branches a reference.
			if o := y.get(m.key); o != nil && !jsonEqual(v, o) {
				fx, err := c.flatten(v)
				if err != nil {
					return nil, err
				}
				fy, err := c.flatten(o)
				if err != nil {
					return nil, err
				}
				if v, err = c.merge(fx, fy); err != nil {
					return nil, err
				}
			}
			out.members = append(out.members, jsonMember{m.key, v})
		}
		for _, m := range y.members {
			if x.get(m.key) == nil {
				out.members = append(out.members, m)
			}
		}
		return out, nil
	case key == "required" && x.kind == jsonArray && y.kind == jsonArray:
		out := &jsonNode{kind: jsonArray, path: x.path, items: slices.Clone(x.items)}
		for _, item := range y.items {
			if !slices.ContainsFunc(out.items, func(o *jsonNode) bool { return jsonEqual(o, item) }) {
				out.items = append(out.items, item)
			}
		}
		return out, nil
	case key == "items" && x.kind != jsonArray && y.kind != jsonArray:
		fx, err := c.flatten(x)
		if err != nil {
			return nil, err
		}
		fy, err := c.flatten(y)
		if err != nil {
			return nil, err
		}
		return c.merge(fx, fy)
	case (mergeMax[key] || mergeMin[key] || key == "exclusiveMinimum" || key == "exclusiveMaximum") &&
		x.kind == jsonNumber && y.kind == jsonNumber:
		rx, ry := x.rat(), y.rat()
		if rx == nil || ry == nil {
			return nil, errAt(y, "%s must be a number", key)
		}
		takeX := rx.Cmp(ry) >= 0
		if mergeMin[key] || key == "exclusiveMaximum" {
			takeX = !takeX
		}
		if takeX {
			return x, nil
		}
		return y, nil
	}
	return nil, errAt(y, "keyword %q with different values in allOf branches is not supported", key)
}

// compileEnum compiles enum and const: exactly the listed values, each in
// its compact JSON spelling.
func (c *compiler) compileEnum(n *jsonNode) (gexpr, error) {
	for _, m := range n.members {
		switch m.key {
		case "enum", "const", "type":
		default:
			if !annotations[m.key] {
				return nil, errAt(m.value, "keyword %q beside enum or const is not supported", m.key)
			}
		}
	}
	var values []*jsonNode
	enum, cnst := n.get("enum"), n.get("const")
	if enum != nil {
		if enum.kind != jsonArray || len(enum.items) == 0 {
			return nil, errAt(enum, "enum must be a non-empty array")
		}
		values = enum.items
	}
	if cnst != nil {
		if enum == nil {
			values = []*jsonNode{cnst}
		} else {
			values = slices.DeleteFunc(slices.Clone(values), func(v *jsonNode) bool { return !jsonEqual(v, cnst) })
		}
	}
	var types typeSet = tAll
	if n.get("type") != nil {
		var err error
		if types, err = schemaTypes(n); err != nil {
			return nil, err
		}
	}
	var alts []gexpr
	seen := map[string]bool{}
	for _, v := range values {
		if !valueHasType(v, types) {
			continue
		}
		text := canonicalJSON(v)
		if !seen[text] {
			seen[text] = true
			alts = append(alts, lit(text))
		}
	}
	if len(alts) == 0 {
		return nil, errAt(cmp.Or(enum, cnst), "no value of enum or const has the schema's type")
	}
	return alt(alts...), nil
}

func valueHasType(v *jsonNode, types typeSet) bool {
	switch v.kind {
	case jsonNull:
		return types&tNull != 0
	case jsonBool:
		return types&tBoolean != 0
	case jsonString:
		return types&tString != 0
	case jsonArray:
		return types&tArray != 0
	case jsonObject:
		return types&tObject != 0
	}
	if types&tNumber != 0 {
		return true
	}
	r := v.rat()
	return types&tInteger != 0 && r != nil && r.IsInt()
}

// nonNegativeInt reads a count keyword (minLength, maxItems, ...).
func nonNegativeInt(n *jsonNode, key string) (int, bool, error) {
	v := n.get(key)
	if v == nil {
		return 0, false, nil
	}
	var r *big.Rat
	if v.kind == jsonNumber {
		r = v.rat()
	}
	if r == nil || !r.IsInt() || r.Sign() < 0 {
		return 0, false, errAt(v, "%s must be a non-negative integer", key)
	}
	if !r.Num().IsInt64() || r.Num().Int64() > 1<<40 {
		return 1 << 40, true, nil // far beyond every limit; callers refuse it
	}
	return int(r.Num().Int64()), true, nil
}

// countLimit refuses a count the grammar would have to spell out beyond
// maxRepeat.
func countLimit(n *jsonNode, key string, v int) error {
	if v > maxRepeat {
		return errAt(n.get(key), "%s above %d is not supported", key, maxRepeat)
	}
	return nil
}

// hintOf names rules after the last segment of a schema's path.
func hintOf(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}
