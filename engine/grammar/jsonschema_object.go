package grammar

import (
	"cmp"
	"slices"
)

// property is one member the grammar may generate in an object.
type property struct {
	name     string
	value    gexpr // the member's value
	required bool
}

// compileObject generates an object's members in the order the schema
// declares them: required ones always, optional ones possibly left out.
// Undeclared members are generated, after the declared ones, when
// additionalProperties is true or a schema, or when it is absent and so are
// properties (a bare "type": "object" is any object); never under
// SchemaOptions.Strict. When properties are declared and
// additionalProperties is absent, none are, though JSON Schema would allow
// them: the grammar admits a subset of valid instances, and a model given
// room for keys of its own invents them.
func (c *compiler) compileObject(n *jsonNode) (gexpr, error) {
	props := n.get("properties")
	if props != nil && props.kind != jsonObject {
		return nil, errAt(props, "properties must be an object")
	}
	var required []string
	if r := n.get("required"); r != nil {
		if r.kind != jsonArray {
			return nil, errAt(r, "required must be an array of strings")
		}
		for _, item := range r.items {
			if item.kind != jsonString {
				return nil, errAt(item, "required must be an array of strings")
			}
			if !slices.Contains(required, item.text) {
				required = append(required, item.text)
			}
		}
	}
	addl := n.get("additionalProperties")
	closed := addl != nil && addl.kind == jsonBool && !addl.boolean

	var list []property
	var declared []string
	if props != nil {
		for _, m := range props.members {
			declared = append(declared, m.key)
			value, err := c.compile(m.value)
			if err != nil {
				return nil, err
			}
			req := slices.Contains(required, m.key) || (c.opts.Strict && !c.defining(value))
			if _, none := value.(gNone); none {
				if req && slices.Contains(required, m.key) {
					return nil, errAt(m.value, "required property %q admits no value", m.key)
				}
				continue
			}
			list = append(list, property{m.key, c.named(m.key, value, m.value.path), req})
		}
	}
	// Required names the schema does not declare take the
	// additionalProperties schema, or any value.
	for i, name := range required {
		if props.get(name) != nil {
			continue
		}
		at := n.get("required").items[i]
		if closed {
			return nil, errAt(at, "required property %q is not declared and additionalProperties is false", name)
		}
		value := c.prim("json-value")
		if addl != nil && addl.kind == jsonObject {
			var err error
			if value, err = c.compile(addl); err != nil {
				return nil, err
			}
			if _, none := value.(gNone); none {
				return nil, errAt(at, "required property %q admits no value", name)
			}
			value = c.named("additional", value, addl.path)
		}
		list = append(list, property{name, value, true})
		declared = append(declared, name)
	}

	// Undeclared members.
	var extra gexpr = gNone{}
	if (addl != nil || props == nil) && !closed && !c.opts.Strict {
		value := c.prim("json-value")
		if addl != nil && addl.kind == jsonObject {
			var err error
			if value, err = c.compile(addl); err != nil {
				return nil, err
			}
			value = c.named("additional", value, addl.path)
		}
		ws := c.prim("ws")
		extra = c.named("additional-kv", seq(keyExcluding(declared), ws, lit(":"), ws, value), cmp.Or(addl, n).path)
	}
	_, noExtra := extra.(gNone)

	nRequired := 0
	for _, p := range list {
		if p.required {
			nRequired++
		}
	}
	if v, ok, err := nonNegativeInt(n, "minProperties"); err != nil {
		return nil, err
	} else if ok && v > nRequired {
		return nil, errAt(n.get("minProperties"), "minProperties above the number of required properties is not supported")
	}
	if v, ok, err := nonNegativeInt(n, "maxProperties"); err != nil {
		return nil, err
	} else if ok && (!noExtra || v < len(list)) {
		return nil, errAt(n.get("maxProperties"), "maxProperties below the number of properties that may be generated is not supported")
	}

	return c.named(hintOf(n.path), c.objectBody(list, extra), n.path), nil
}

// defining reports whether e refers to a rule whose schema is still being
// compiled: a member that refers back to an enclosing schema. Strict mode
// leaves such a member optional, since requiring it would require the
// object inside itself for ever.
func (c *compiler) defining(e gexpr) bool {
	ref, ok := e.(gRef)
	if !ok {
		return false
	}
	_, placeholder := c.rules[string(ref)].(gNone)
	return placeholder
}

// objectBody writes the members with exactly one ws between tokens and a
// comma between members, whichever optional ones are present. Every member
// is followed by its ws, so that a run of optional members begins with
// commas only: a matcher then has one way into each, not three (GBNF
// readers bound how many ways a position can begin). With a required
// member the members before it carry their comma after them and those
// after it before them; without one, the first member present decides,
// and each rule tail(i) is "the members from i on, each after a comma".
func (c *compiler) objectBody(list []property, extra gexpr) gexpr {
	ws := c.prim("ws")
	comma := seq(lit(","), ws)
	kv := make([]gexpr, len(list))
	for i, p := range list {
		kv[i] = seq(lit(quoteJSON(p.name)), ws, lit(":"), ws, p.value, ws)
	}
	extras := rep(seq(comma, extra, ws), 0, -1)

	first := slices.IndexFunc(list, func(p property) bool { return p.required })
	if first >= 0 {
		parts := []gexpr{lit("{"), ws}
		for i := range first {
			parts = append(parts, opt(seq(kv[i], comma)))
		}
		parts = append(parts, kv[first])
		for i := first + 1; i < len(list); i++ {
			if list[i].required {
				parts = append(parts, comma, kv[i])
			} else {
				parts = append(parts, opt(seq(comma, kv[i])))
			}
		}
		parts = append(parts, extras, lit("}"))
		return seq(parts...)
	}

	tails := make([]gexpr, len(list)+1)
	tails[len(list)] = extras
	for i := len(list) - 1; i >= 1; i-- {
		tails[i] = c.named("tail", seq(opt(seq(comma, kv[i])), tails[i+1]), "")
	}
	var starts []gexpr
	for i := range list {
		starts = append(starts, seq(kv[i], tails[i+1]))
	}
	starts = append(starts, seq(extra, ws, extras))
	return seq(lit("{"), ws, opt(alt(starts...)), lit("}"))
}

// keyExcluding is a member name (with its quotes) that is none of names,
// so that an undeclared member never repeats or shadows a declared one.
// The names it makes are spelled one way only: no control characters, no
// \u escapes, '"' and '\' escaped; so a declared name cannot come back in
// another spelling. It follows a trie of the names: at each point the key
// may end (unless a name ends there), go on along a name, or leave every
// name for any characters.
func keyExcluding(names []string) gexpr {
	type node struct {
		children map[rune]*node
		order    []rune
		end      bool
	}
	root := &node{children: map[rune]*node{}}
	for _, name := range names {
		n := root
		for _, r := range name {
			next := n.children[r]
			if next == nil {
				next = &node{children: map[rune]*node{}}
				n.children[r] = next
				n.order = append(n.order, r)
			}
			n = next
		}
		n.end = true
	}
	unit := func(r rune) gexpr {
		switch {
		case r == '"' || r == '\\':
			return lit(`\` + string(r))
		case r < 0x20 || (r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF:
			return gNone{} // such names are never generated, so never excluded
		}
		return lit(string(r))
	}
	anyUnit := alt(stringRawChars, lit(`\"`), lit(`\\`))
	rest := seq(rep(anyUnit, 0, -1), lit(`"`))

	var walk func(n *node) gexpr
	walk = func(n *node) gexpr {
		var alts []gexpr
		if !n.end {
			alts = append(alts, lit(`"`))
		}
		var taken gClass
		for _, r := range n.order {
			alts = append(alts, seq(unit(r), walk(n.children[r])))
			taken = append(taken, runeRange{r, r})
		}
		taken = normalizeRanges(taken)
		other := []gexpr{class(subtractRanges(stringRawChars, taken)...)}
		for _, r := range []rune{'"', '\\'} {
			if !slices.ContainsFunc(taken, func(t runeRange) bool { return t.lo <= r && r <= t.hi }) {
				other = append(other, lit(`\`+string(r)))
			}
		}
		alts = append(alts, seq(alt(other...), rest))
		return alt(alts...)
	}
	return seq(lit(`"`), walk(root))
}

// compileArray generates prefixItems (or draft 7's array form of items)
// position by position, then items (or additionalItems) for the rest,
// between minItems and maxItems. When there is a prefix and nothing
// describes the rest, no more items are generated unless minItems needs
// them, in which case they may be any value.
func (c *compiler) compileArray(n *jsonNode) (gexpr, error) {
	var prefix []*jsonNode
	items := n.get("items")
	restSchema := items
	if p := n.get("prefixItems"); p != nil {
		if p.kind != jsonArray {
			return nil, errAt(p, "prefixItems must be an array of schemas")
		}
		prefix = p.items
	} else if items != nil && items.kind == jsonArray {
		prefix = items.items
		restSchema = n.get("additionalItems")
	}

	lo, _, err := nonNegativeInt(n, "minItems")
	if err != nil {
		return nil, err
	}
	hi, bounded, err := nonNegativeInt(n, "maxItems")
	if err != nil {
		return nil, err
	}
	if !bounded {
		hi = -1
	}

	var slots []gexpr
	for i, p := range prefix {
		e, err := c.compile(p)
		if err != nil {
			return nil, err
		}
		if _, none := e.(gNone); none {
			if hi < 0 || hi > i {
				hi = i // no array this long is valid
			}
			break
		}
		slots = append(slots, c.named(hintOf(n.path)+"-item", e, p.path))
	}
	var rest gexpr = gNone{}
	switch {
	case restSchema != nil:
		e, err := c.compile(restSchema)
		if err != nil {
			return nil, err
		}
		rest = c.named(hintOf(n.path)+"-item", e, restSchema.path)
	case len(prefix) == 0 || lo > len(prefix):
		rest = c.prim("json-value")
	}
	if _, none := rest.(gNone); none || len(slots) < len(prefix) {
		rest = gNone{} // no items beyond the slots
		if hi < 0 || hi > len(slots) {
			hi = len(slots)
		}
	}
	if hi >= 0 && lo > hi {
		return nil, errAt(cmp.Or(n.get("minItems"), n), "minItems is more than the array can hold")
	}
	// Counts spelled out in the grammar.
	if need := lo - len(slots); need > maxRepeat {
		return nil, countLimit(n, "minItems", lo)
	}
	if hi > len(slots)+maxRepeat {
		return nil, countLimit(n, "maxItems", hi)
	}

	ws := c.prim("ws")
	comma := seq(lit(","), ws)
	// element j (0-based), followed by its ws, preceded by a comma if j > 0.
	element := func(j int, e gexpr) gexpr {
		if j == 0 {
			return seq(e, ws)
		}
		return seq(comma, e, ws)
	}
	// fromRest builds elements j.. from the rest schema.
	fromRest := func(j int) gexpr {
		if _, none := rest.(gNone); none {
			return gEps{}
		}
		need := max(lo-j, 0)
		more := -1
		if hi >= 0 {
			more = hi - j - need
		}
		next := c.named(hintOf(n.path)+"-next", element(1, rest), n.path)
		if j == 0 {
			if need > 0 {
				return seq(element(0, rest), rep(next, need-1, need-1), rep(next, 0, more))
			}
			if more == 0 {
				return gEps{}
			}
			if more > 0 {
				more--
			}
			return opt(seq(element(0, rest), rep(next, 0, more)))
		}
		return seq(rep(next, need, need), rep(next, 0, more))
	}
	var build func(j int) gexpr
	build = func(j int) gexpr {
		if j >= len(slots) {
			return fromRest(j)
		}
		if hi >= 0 && j >= hi {
			return gEps{}
		}
		e := seq(element(j, slots[j]), build(j+1))
		if j < lo {
			return e
		}
		return opt(e)
	}
	return c.named(hintOf(n.path), seq(lit("["), ws, build(0), lit("]")), n.path), nil
}
