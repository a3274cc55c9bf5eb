package grammar

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Parse compiles a grammar in GBNF, llama.cpp's grammar text form. The
// grammar must define a rule named root; errors name the place or the
// rule at fault (*SyntaxError, *RuleError).
func Parse(src string) (*Grammar, error) {
	if len(src) > MaxSource {
		return nil, &SyntaxError{Line: 1, Column: 1, Msg: fmt.Sprintf("grammar is %d bytes, more than the limit of %d", len(src), MaxSource), Err: ErrLimit}
	}
	p := &parser{src: src, ruleIdx: map[string]int32{}, classIdx: map[string]int32{}}
	if err := p.grammar(); err != nil {
		return nil, err
	}
	return p.build()
}

// parser reads GBNF into rules whose alternatives are element lists,
// writing groups and repetitions as rules of their own the way llama.cpp
// does, so that matching only ever meets characters and references.
type parser struct {
	src string
	pos int

	names    []string
	bodies   [][][]elem // each rule's alternatives, nil until defined
	defined  []bool
	firstRef []int // where each rule is first referenced, for errors
	ruleIdx  map[string]int32
	classes  []charClass
	classIdx map[string]int32
	size     int // elements written so far
	depth    int // groups open
	synth    int // rules made for groups and repetitions
}

// fail is a *SyntaxError at byte offset pos.
func (p *parser) fail(pos int, format string, args ...any) *SyntaxError {
	line, col := 1, 1
	for i := 0; i < pos && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) limit(pos int, format string, args ...any) *SyntaxError {
	e := p.fail(pos, format, args...)
	e.Err = ErrLimit
	return e
}

func (p *parser) grammar() error {
	p.space(true)
	for p.pos < len(p.src) {
		start := p.pos
		name := p.name()
		if name == "" {
			return p.fail(p.pos, "expected a rule name, found %s", p.found())
		}
		p.space(false)
		if !p.eat("::=") {
			return p.fail(p.pos, "expected ::= after rule name %q, found %s", name, p.found())
		}
		p.space(true)
		id := p.rule(name, -1)
		if p.defined[id] {
			return p.fail(start, "rule %q is defined twice", name)
		}
		p.defined[id] = true
		alts, err := p.alternatives(name, false)
		if err != nil {
			return err
		}
		p.bodies[id] = alts
		switch {
		case p.pos >= len(p.src):
		case p.src[p.pos] == '\n' || p.src[p.pos] == '\r':
			p.pos++
		default:
			return p.fail(p.pos, "expected end of line after rule %q, found %s", name, p.found())
		}
		p.space(true)
	}
	return nil
}

// found describes the text at the parser's position for an error.
func (p *parser) found() string {
	if p.pos >= len(p.src) {
		return "end of grammar"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

// space skips blanks and comments, and line ends where they are allowed:
// inside groups and after ::= or |.
func (p *parser) space(newlines bool) {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
				p.pos++
			}
		case newlines && (c == '\n' || c == '\r'):
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) eat(s string) bool {
	if len(p.src)-p.pos >= len(s) && p.src[p.pos:p.pos+len(s)] == s {
		p.pos += len(s)
		return true
	}
	return false
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func (p *parser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// rule returns the id of the rule called name, making it if it is new;
// ref is where it is referenced, or -1 at its definition.
func (p *parser) rule(name string, ref int) int32 {
	id, ok := p.ruleIdx[name]
	if !ok {
		id = int32(len(p.names))
		p.ruleIdx[name] = id
		p.names = append(p.names, name)
		p.bodies = append(p.bodies, nil)
		p.defined = append(p.defined, false)
		p.firstRef = append(p.firstRef, -1)
	}
	if ref >= 0 && p.firstRef[id] < 0 {
		p.firstRef[id] = ref
	}
	return id
}

// synthRule makes a rule for a group or repetition inside rule owner.
func (p *parser) synthRule(owner string, alts [][]elem) (int32, error) {
	p.synth++
	// '~' cannot appear in a written name, so the name is unique.
	id := p.rule(owner+"~"+strconv.Itoa(p.synth), -1)
	p.defined[id] = true
	p.bodies[id] = alts
	for _, a := range alts {
		p.size += len(a) + 1
	}
	if p.size > MaxElements {
		return 0, p.limit(p.pos, "grammar has more than %d elements once its repetitions are written out", MaxElements)
	}
	return id, nil
}

func (p *parser) alternatives(owner string, nested bool) ([][]elem, error) {
	var alts [][]elem
	for {
		seq, err := p.sequence(owner, nested)
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		if p.pos >= len(p.src) || p.src[p.pos] != '|' {
			return alts, nil
		}
		p.pos++
		p.space(true)
	}
}

func (p *parser) sequence(owner string, nested bool) ([]elem, error) {
	var out []elem
	last := -1 // where the last item starts in out, for repetitions
	for p.pos < len(p.src) {
		start, before := p.pos, len(out)
		switch c := p.src[p.pos]; {
		case c == '"':
			p.pos++
			last = len(out)
			for {
				if p.pos >= len(p.src) || p.src[p.pos] == '\n' || p.src[p.pos] == '\r' {
					return nil, p.fail(start, "unterminated string literal")
				}
				if p.src[p.pos] == '"' {
					p.pos++
					break
				}
				r, err := p.char()
				if err != nil {
					return nil, err
				}
				out = append(out, p.class([]runeRange{{r, r}}, false))
			}
		case c == '[':
			last = len(out)
			e, err := p.charClass()
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		case c == '.':
			p.pos++
			last = len(out)
			out = append(out, p.class(nil, true))
		case isNameByte(c):
			last = len(out)
			name := p.name()
			out = append(out, elem{kind: elemRef, arg: p.rule(name, start)})
		case c == '(':
			p.pos++
			if p.depth++; p.depth > MaxNesting {
				return nil, p.limit(start, "groups nest more than %d deep", MaxNesting)
			}
			p.space(true)
			alts, err := p.alternatives(owner, true)
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != ')' {
				return nil, p.fail(p.pos, "expected ) to close the group opened at %s, found %s", p.where(start), p.found())
			}
			p.pos++
			p.depth--
			id, err := p.synthRule(owner, alts)
			if err != nil {
				return nil, err
			}
			last = len(out)
			out = append(out, elem{kind: elemRef, arg: id})
		case c == '*' || c == '+' || c == '?' || c == '{':
			if last < 0 {
				return nil, p.fail(start, "%q has nothing before it to repeat", c)
			}
			lo, hi, err := p.counts()
			if err != nil {
				return nil, err
			}
			if out, err = p.repeat(owner, out, last, lo, hi); err != nil {
				return nil, err
			}
			last = -1
		case c == '<':
			return nil, p.fail(start, "token references (<...>) are not supported")
		default:
			return out, nil
		}
		p.size += len(out) - before
		if p.size > MaxElements {
			return nil, p.limit(start, "grammar has more than %d elements once its repetitions are written out", MaxElements)
		}
		p.space(nested)
	}
	return out, nil
}

func (p *parser) where(pos int) string {
	e := p.fail(pos, "")
	return fmt.Sprintf("line %d, column %d", e.Line, e.Column)
}

// counts reads a repetition operator; hi is -1 for no maximum.
func (p *parser) counts() (lo, hi int, err error) {
	start := p.pos
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '*':
		return 0, -1, nil
	case '+':
		return 1, -1, nil
	case '?':
		return 0, 1, nil
	}
	p.space(false)
	num := func() (int, bool, error) {
		s := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		if s == p.pos {
			return 0, false, nil
		}
		n, err := strconv.Atoi(p.src[s:p.pos])
		if err != nil || n > MaxRepeat {
			return 0, false, p.limit(s, "repetition count %s is more than the limit of %d", p.src[s:p.pos], MaxRepeat)
		}
		p.space(false)
		return n, true, nil
	}
	lo, haveLo, err := num()
	if err != nil {
		return 0, 0, err
	}
	hi = lo
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		p.space(false)
		var haveHi bool
		if hi, haveHi, err = num(); err != nil {
			return 0, 0, err
		}
		if !haveHi {
			hi = -1
		}
	} else if !haveLo {
		return 0, 0, p.fail(p.pos, "expected a repetition count, found %s", p.found())
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '}' {
		return 0, 0, p.fail(p.pos, "expected } to close the repetition, found %s", p.found())
	}
	p.pos++
	if hi >= 0 && hi < lo {
		return 0, 0, p.fail(start, "repetition {%d,%d} has its maximum below its minimum", lo, hi)
	}
	return lo, hi, nil
}

// repeat writes out[last:] repeated lo to hi times (hi < 0: no maximum):
// lo copies, then a right-recursive rule for the open end, or a chain of
// nested optional rules for a bounded one, as llama.cpp does.
func (p *parser) repeat(owner string, out []elem, last, lo, hi int) ([]elem, error) {
	item := append([]elem(nil), out[last:]...)
	out = out[:last]
	if (lo+max(hi-lo, 1))*(len(item)+1) > MaxElements-p.size {
		return nil, p.limit(p.pos, "grammar has more than %d elements once its repetitions are written out", MaxElements)
	}
	for range lo {
		out = append(out, item...)
	}
	if hi < 0 {
		// star ::= item star | (empty)
		id, err := p.synthRule(owner, nil)
		if err != nil {
			return nil, err
		}
		p.bodies[id] = [][]elem{append(append([]elem(nil), item...), elem{kind: elemRef, arg: id}), nil}
		p.size += len(item) + 2
		return append(out, elem{kind: elemRef, arg: id}), nil
	}
	prev := int32(-1)
	for range hi - lo {
		// opt ::= item opt' | (empty)
		seq := append([]elem(nil), item...)
		if prev >= 0 {
			seq = append(seq, elem{kind: elemRef, arg: prev})
		}
		id, err := p.synthRule(owner, [][]elem{seq, nil})
		if err != nil {
			return nil, err
		}
		prev = id
	}
	if prev >= 0 {
		out = append(out, elem{kind: elemRef, arg: prev})
	}
	return out, nil
}

// class returns the element for a character class, sharing equal ones.
func (p *parser) class(rs []runeRange, negated bool) elem {
	c := newClass(rs, negated)
	k := c.key()
	id, ok := p.classIdx[k]
	if !ok {
		id = int32(len(p.classes))
		p.classes = append(p.classes, c)
		p.classIdx[k] = id
	}
	return elem{kind: elemChar, arg: id}
}

func (p *parser) charClass() (elem, error) {
	start := p.pos
	p.pos++ // [
	negated := p.pos < len(p.src) && p.src[p.pos] == '^'
	if negated {
		p.pos++
	}
	var rs []runeRange
	for {
		if p.pos >= len(p.src) {
			return elem{}, p.fail(start, "unterminated character class")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return p.class(rs, negated), nil
		}
		lo, err := p.char()
		if err != nil {
			return elem{}, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			at := p.pos
			if hi, err = p.char(); err != nil {
				return elem{}, err
			}
			if hi < lo {
				return elem{}, p.fail(at, "character range %s-%s is backwards", strconv.QuoteRune(lo), strconv.QuoteRune(hi))
			}
		}
		rs = append(rs, runeRange{lo, hi})
	}
}

// char reads one character of a literal or class, escapes included.
func (p *parser) char() (rune, error) {
	start := p.pos
	if p.src[p.pos] != '\\' {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if r == utf8.RuneError && n <= 1 {
			return 0, p.fail(start, "invalid UTF-8 in the grammar")
		}
		p.pos += n
		return r, nil
	}
	if p.pos+1 >= len(p.src) {
		return 0, p.fail(start, "unfinished escape at end of grammar")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case '\\', '"', '[', ']', '-', '^':
		return rune(c), nil
	case 'x', 'u', 'U':
		digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if len(p.src)-p.pos < digits {
			return 0, p.fail(start, "\\%c needs %d hex digits", c, digits)
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+digits], 16, 32)
		if err != nil {
			return 0, p.fail(start, "\\%c needs %d hex digits", c, digits)
		}
		if v > utf8.MaxRune {
			return 0, p.fail(start, "\\%c%s is beyond the last code point", c, p.src[p.pos:p.pos+digits])
		}
		p.pos += digits
		return rune(v), nil
	}
	return 0, p.fail(start, "unknown escape \\%c", c)
}
