package grammar

import (
	"strconv"
	"strings"
	"unicode/utf16"
)

// compilePattern translates a pattern (ECMA-262 syntax, as JSON Schema
// specifies) into a grammar over the characters of a JSON string. The
// subset: literals and escapes, classes ([...], [^...], ., \d \w \s and
// their negations), groups (capturing, (?:...), (?<name>...)),
// alternation, the quantifiers * + ? {n} {n,} {n,m} (lazy or not, which
// changes nothing here), and ^ and $ at the ends of the pattern's top-level
// alternatives. A pattern matches anywhere in the string, as JSON Schema
// says, so an end without its anchor admits any characters there.
// Lookaround, backreferences, word boundaries and Unicode property escapes
// are refused.
func (c *compiler) compilePattern(p *jsonNode) (gexpr, error) {
	rp := &regexParser{c: c, at: p, src: []rune(p.text)}
	e, err := rp.alternation(true)
	if err != nil {
		return nil, err
	}
	if rp.pos < len(rp.src) {
		return nil, rp.fail("unbalanced )")
	}
	return e, nil
}

type regexParser struct {
	c   *compiler
	at  *jsonNode
	src []rune
	pos int
}

func (p *regexParser) fail(format string, args ...any) error {
	return errAt(p.at, "pattern: "+format, args...)
}

func (p *regexParser) peek() (rune, bool) {
	if p.pos < len(p.src) {
		return p.src[p.pos], true
	}
	return 0, false
}

func (p *regexParser) eat(r rune) bool {
	if ch, ok := p.peek(); ok && ch == r {
		p.pos++
		return true
	}
	return false
}

func (p *regexParser) alternation(top bool) (gexpr, error) {
	var alts []gexpr
	for {
		e, err := p.sequence(top)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
		if !p.eat('|') {
			return alt(alts...), nil
		}
	}
}

func (p *regexParser) sequence(top bool) (gexpr, error) {
	anchoredStart := top && p.eat('^')
	anchoredEnd := false
	var items []gexpr
loop:
	for {
		ch, ok := p.peek()
		if !ok || ch == '|' || ch == ')' {
			break
		}
		switch ch {
		case '$':
			p.pos++
			next, more := p.peek()
			if !top || (more && next != '|') {
				return nil, p.fail("$ other than at the end is not supported")
			}
			anchoredEnd = true
			break loop
		case '^':
			return nil, p.fail("^ other than at the start is not supported")
		}
		atom, err := p.atom()
		if err != nil {
			return nil, err
		}
		if atom, err = p.quantified(atom); err != nil {
			return nil, err
		}
		items = append(items, atom)
	}
	e := seq(items...)
	if top {
		anything := rep(p.c.prim("json-char"), 0, -1)
		if !anchoredStart {
			e = seq(anything, e)
		}
		if !anchoredEnd {
			e = seq(e, anything)
		}
	}
	return e, nil
}

func (p *regexParser) atom() (gexpr, error) {
	ch := p.src[p.pos]
	p.pos++
	switch ch {
	case '(':
		if p.eat('?') {
			switch {
			case p.eat(':'):
			case p.eat('<') && !strings.ContainsRune("=!", p.peekOr()):
				for {
					r, ok := p.peek()
					if !ok {
						return nil, p.fail("unterminated group name")
					}
					p.pos++
					if r == '>' {
						break
					}
				}
			default:
				return nil, p.fail("lookaround and other (?...) groups are not supported")
			}
		}
		e, err := p.alternation(false)
		if err != nil {
			return nil, err
		}
		if !p.eat(')') {
			return nil, p.fail("missing )")
		}
		return e, nil
	case '[':
		set, err := p.class()
		if err != nil {
			return nil, err
		}
		return unitsFor(set), nil
	case '.':
		return unitsFor(complementRanges(gClass{{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}})), nil
	case '\\':
		set, err := p.escape(false)
		if err != nil {
			return nil, err
		}
		return unitsFor(set), nil
	case '*', '+', '?':
		return nil, p.fail("nothing to repeat before %q", ch)
	case '{':
		if p.pos--; p.quantifierAhead() {
			return nil, p.fail("nothing to repeat before {")
		}
		p.pos++
	case ')':
		return nil, p.fail("unbalanced )")
	}
	return unitsFor(gClass{{ch, ch}}), nil
}

func (p *regexParser) peekOr() rune {
	r, _ := p.peek()
	return r
}

// quantifierAhead reports whether a {n}, {n,} or {n,m} starts at pos.
func (p *regexParser) quantifierAhead() bool {
	save := p.pos
	defer func() { p.pos = save }()
	_, _, ok := p.braces()
	return ok
}

// braces reads {n}, {n,} or {n,m}; max -1 is none.
func (p *regexParser) braces() (lo, hi int, ok bool) {
	if !p.eat('{') {
		return 0, 0, false
	}
	num := func() (int, bool) {
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		if p.pos == start {
			return 0, false
		}
		v, err := strconv.Atoi(string(p.src[start:p.pos]))
		if err != nil {
			v = maxRepeat + 1 // too many digits: over the limit
		}
		return v, true
	}
	lo, ok = num()
	if !ok {
		return 0, 0, false
	}
	hi = lo
	if p.eat(',') {
		hi = -1
		if v, ok := num(); ok {
			hi = v
		}
	}
	if !p.eat('}') {
		return 0, 0, false
	}
	return lo, hi, true
}

func (p *regexParser) quantified(atom gexpr) (gexpr, error) {
	lo, hi := 1, 1
	switch ch, _ := p.peek(); ch {
	case '*':
		lo, hi = 0, -1
		p.pos++
	case '+':
		lo, hi = 1, -1
		p.pos++
	case '?':
		lo, hi = 0, 1
		p.pos++
	case '{':
		save := p.pos
		var ok bool
		if lo, hi, ok = p.braces(); !ok {
			p.pos = save
			return atom, nil // a literal {, read as the next atom
		}
	default:
		return atom, nil
	}
	p.eat('?') // lazy: the same strings
	if hi >= 0 && hi < lo {
		return nil, p.fail("{%d,%d} is out of order", lo, hi)
	}
	if lo > maxRepeat || hi > maxRepeat {
		return nil, p.fail("a repetition count above %d is not supported", maxRepeat)
	}
	if hi != 1 && exprNullable(atom, nil) {
		return nil, p.fail("repeating a part that can match the empty string is not supported")
	}
	if next, _ := p.peek(); next == '*' || next == '+' || next == '?' || (next == '{' && p.quantifierAhead()) {
		return nil, p.fail("nothing to repeat before %q", next)
	}
	// A repeated group becomes a rule, so that nested counts add up
	// instead of multiplying when a GBNF reader expands them.
	return rep(p.c.named("pattern-part", atom, p.at.path), lo, hi), nil
}

// class reads [...] after its [.
func (p *regexParser) class() (gClass, error) {
	negate := p.eat('^')
	var set gClass
	for {
		ch, ok := p.peek()
		if !ok {
			return nil, p.fail("missing ]")
		}
		if ch == ']' {
			p.pos++
			break
		}
		lo, err := p.classAtom()
		if err != nil {
			return nil, err
		}
		if next, _ := p.peek(); next == '-' && p.pos+1 < len(p.src) && p.src[p.pos+1] != ']' {
			p.pos++
			hi, err := p.classAtom()
			if err != nil {
				return nil, err
			}
			if len(lo) != 1 || len(hi) != 1 || lo[0].lo != lo[0].hi || hi[0].lo != hi[0].hi {
				return nil, p.fail("a range with a class at one end")
			}
			if lo[0].lo > hi[0].lo {
				return nil, p.fail("range out of order")
			}
			set = append(set, runeRange{lo[0].lo, hi[0].lo})
			continue
		}
		set = append(set, lo...)
	}
	set = normalizeRanges(subtractRanges(normalizeRanges(set), gClass{{0xD800, 0xDFFF}}))
	if negate {
		set = complementRanges(set)
	}
	if len(set) == 0 {
		return nil, p.fail("a class that matches nothing")
	}
	return set, nil
}

func (p *regexParser) classAtom() (gClass, error) {
	ch := p.src[p.pos]
	p.pos++
	if ch == '\\' {
		return p.escape(true)
	}
	return gClass{{ch, ch}}, nil
}

var (
	regexDigit = gClass{{'0', '9'}}
	regexWord  = normalizeRanges([]runeRange{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}})
	// ECMA-262's WhiteSpace and LineTerminator.
	regexSpace = normalizeRanges([]runeRange{{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x1680, 0x1680},
		{0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}})
)

// escape reads what follows a backslash.
func (p *regexParser) escape(inClass bool) (gClass, error) {
	ch, ok := p.peek()
	if !ok {
		return nil, p.fail("\\ at the end")
	}
	p.pos++
	one := func(r rune) (gClass, error) { return gClass{{r, r}}, nil }
	switch ch {
	case 'd':
		return regexDigit, nil
	case 'D':
		return complementRanges(regexDigit), nil
	case 'w':
		return regexWord, nil
	case 'W':
		return complementRanges(regexWord), nil
	case 's':
		return regexSpace, nil
	case 'S':
		return complementRanges(regexSpace), nil
	case 'b':
		if inClass {
			return one('\b')
		}
		return nil, p.fail("word boundaries (\\b) are not supported")
	case 'B':
		return nil, p.fail("word boundaries (\\B) are not supported")
	case 't':
		return one('\t')
	case 'n':
		return one('\n')
	case 'r':
		return one('\r')
	case 'v':
		return one('\v')
	case 'f':
		return one('\f')
	case '0':
		if next, _ := p.peek(); next >= '0' && next <= '9' {
			return nil, p.fail("octal escapes are not supported")
		}
		return one(0)
	case 'c':
		if next, ok := p.peek(); ok && (next|0x20) >= 'a' && (next|0x20) <= 'z' {
			p.pos++
			return one(next & 0x1F)
		}
		return nil, p.fail("\\c must be followed by a letter")
	case 'x':
		v, ok := p.hex(2)
		if !ok {
			return nil, p.fail("\\x must be followed by two hex digits")
		}
		return one(v)
	case 'u':
		v, ok := p.hex(4)
		if !ok {
			return nil, p.fail("\\u must be followed by four hex digits")
		}
		if utf16.IsSurrogate(v) {
			// A pair written as two escapes is one character.
			save := p.pos
			if v < 0xDC00 && p.eat('\\') && p.eat('u') {
				if w, ok := p.hex(4); ok && w >= 0xDC00 && w <= 0xDFFF {
					return one(utf16.DecodeRune(v, w))
				}
			}
			p.pos = save
			return nil, p.fail("a lone surrogate \\u%04X is not supported", v)
		}
		return one(v)
	case 'p', 'P':
		return nil, p.fail("Unicode property escapes are not supported")
	case 'k':
		return nil, p.fail("backreferences are not supported")
	}
	if ch >= '1' && ch <= '9' {
		return nil, p.fail("backreferences are not supported")
	}
	return one(ch) // an escaped syntax character, or an identity escape
}

func (p *regexParser) hex(n int) (rune, bool) {
	if p.pos+n > len(p.src) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += n
	return rune(v), true
}
