package grammar

import (
	"cmp"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// compileString generates strings: free, between minLength and maxLength
// characters, of a format, or matching a pattern. A grammar cannot count
// the characters of a pattern's or a format's strings, so a length beside
// one is accepted only when every string it admits already satisfies it
// (the usual maxLength on a URL, a fixed-width code), and refused
// otherwise.
func (c *compiler) compileString(n *jsonNode) (gexpr, error) {
	pattern, format := n.get("pattern"), n.get("format")
	lo, hasLo, err := nonNegativeInt(n, "minLength")
	if err != nil {
		return nil, err
	}
	hi, hasHi, err := nonNegativeInt(n, "maxLength")
	if err != nil {
		return nil, err
	}
	var content gexpr // the characters between the quotes
	what := "pattern"
	switch {
	case pattern != nil:
		if format != nil {
			return nil, errAt(format, "format beside pattern is not supported")
		}
		if pattern.kind != jsonString {
			return nil, errAt(pattern, "pattern must be a string")
		}
		if content, err = c.compilePattern(pattern); err != nil {
			return nil, err
		}
	case format != nil:
		what = "format"
		if format.kind != jsonString {
			return nil, errAt(format, "format must be a string")
		}
		if content = formatGrammar(format.text); content == nil {
			return nil, errAt(format, "format %q is not supported", format.text)
		}
	}
	quote := lit(`"`)
	if content != nil {
		least, most := c.contentLength(content, 0)
		if hasLo && least < lo {
			return nil, errAt(n.get("minLength"), "minLength beside %s is only supported when every string it admits is long enough", what)
		}
		if hasHi && (most < 0 || most > hi) {
			return nil, errAt(n.get("maxLength"), "maxLength beside %s is only supported when every string it admits is short enough", what)
		}
		hint := what
		if format != nil {
			hint = format.text
		}
		return c.named(hint, seq(quote, content, quote), cmp.Or(pattern, format).path), nil
	}
	if !hasLo && !hasHi {
		return c.prim("json-string"), nil
	}
	if !hasHi {
		hi = -1
	} else if lo > hi {
		return nil, errAt(n.get("maxLength"), "maxLength is less than minLength")
	}
	if err := countLimit(n, "minLength", lo); err != nil {
		return nil, err
	}
	if err := countLimit(n, "maxLength", hi); err != nil {
		return nil, err
	}
	return c.named("string", seq(quote, rep(c.prim("json-char"), lo, hi), quote), n.path), nil
}

// formatGrammar returns the grammar of a format's strings (the characters
// between the quotes, none of which need escaping), or nil if the format
// is not supported. Each admits a subset of the format: dates from year
// 1000 with no 29 February, times without leap seconds, and plain forms of
// e-mail addresses, host names and URIs (http and https URLs).
func formatGrammar(name string) gexpr {
	d := digit
	r := func(lo, hi rune) runeRange { return runeRange{lo, hi} }
	alnum := class(r('a', 'z'), r('A', 'Z'), r('0', '9'))
	label := seq(alnum, opt(seq(rep(class(r('a', 'z'), r('A', 'Z'), r('0', '9'), r('-', '-')), 0, 18), alnum)))
	domain := seq(label, rep(seq(lit("."), label), 0, 3), lit("."), class(r('a', 'z'), r('A', 'Z')), rep(class(r('a', 'z'), r('A', 'Z')), 1, 9))
	switch name {
	case "date":
		return dateGrammar()
	case "time":
		return timeGrammar()
	case "date-time":
		return seq(dateGrammar(), lit("T"), timeGrammar())
	case "uuid":
		h := hexDigit
		return seq(rep(h(), 8, 8), lit("-"), rep(h(), 4, 4), lit("-"), rep(h(), 4, 4), lit("-"), rep(h(), 4, 4), lit("-"), rep(h(), 12, 12))
	case "email":
		atom := class(r('a', 'z'), r('A', 'Z'), r('0', '9'), r('_', '_'), r('+', '+'), r('-', '-'))
		local := seq(rep(atom, 1, 30), rep(seq(lit("."), rep(atom, 1, 15)), 0, 2)) // at most 62 of the 64 allowed
		return seq(local, lit("@"), domain)
	case "hostname":
		return seq(label, rep(seq(lit("."), label), 0, 4))
	case "uri":
		// An http(s) URL with a host name and a plain path.
		segment := rep(class(r('a', 'z'), r('A', 'Z'), r('0', '9'), r('-', '.'), r('_', '_'), r('~', '~')), 0, 32)
		host := seq(label, rep(seq(lit("."), label), 0, 4))
		return seq(lit("http"), opt(lit("s")), lit("://"), host, rep(seq(lit("/"), segment), 0, 8))
	case "ipv4":
		octet := uintRange(0, 255, false)
		return seq(octet, lit("."), octet, lit("."), octet, lit("."), octet)
	case "duration":
		n := rep(d(), 1, 4)
		date := alt(seq(n, lit("W")), seq(n, lit("D")), seq(n, lit("M")), seq(n, lit("Y")))
		time := seq(lit("T"), n, class(r('H', 'H'), r('M', 'M'), r('S', 'S')))
		return seq(lit("P"), alt(date, time, seq(n, lit("D"), time)))
	}
	return nil
}

// dateGrammar is RFC 3339's full-date with days valid in every year.
func dateGrammar() gexpr {
	r := func(lo, hi rune) runeRange { return runeRange{lo, hi} }
	day28 := alt(seq(lit("0"), class(r('1', '9'))), seq(lit("1"), digit()), seq(lit("2"), class(r('0', '8'))))
	day30 := alt(day28, lit("29"), lit("30"))
	day31 := alt(day30, lit("31"))
	year := seq(class(r('1', '9')), rep(digit(), 3, 3))
	return seq(year, lit("-"), alt(
		seq(alt(lit("01"), lit("03"), lit("05"), lit("07"), lit("08"), lit("10"), lit("12")), lit("-"), day31),
		seq(alt(lit("04"), lit("06"), lit("09"), lit("11")), lit("-"), day30),
		seq(lit("02-"), day28),
	))
}

// timeGrammar is RFC 3339's full-time: a time and an offset.
func timeGrammar() gexpr {
	r := func(lo, hi rune) runeRange { return runeRange{lo, hi} }
	hour := alt(seq(class(r('0', '1')), digit()), seq(lit("2"), class(r('0', '3'))))
	minute := seq(class(r('0', '5')), digit())
	offset := alt(lit("Z"), seq(class(r('+', '+'), r('-', '-')), hour, lit(":"), minute))
	return seq(hour, lit(":"), minute, lit(":"), minute, opt(seq(lit("."), rep(digit(), 1, 9))), offset)
}

// unitsFor is one character from set as it may appear inside a JSON
// string: raw, or escaped where JSON requires it.
func unitsFor(set gClass) gexpr {
	alts := []gexpr{class(intersectRanges(set, stringRawChars)...)}
	for _, rg := range set {
		for ch := rg.lo; ch <= min(rg.hi, 0x1F); ch++ {
			alts = append(alts, lit(escapeControl(ch)))
		}
		if rg.lo <= '"' && '"' <= rg.hi {
			alts = append(alts, lit(`\"`))
		}
		if rg.lo <= '\\' && '\\' <= rg.hi {
			alts = append(alts, lit(`\\`))
		}
	}
	return alt(alts...)
}

func escapeControl(ch rune) string {
	switch ch {
	case '\b':
		return `\b`
	case '\t':
		return `\t`
	case '\n':
		return `\n`
	case '\f':
		return `\f`
	case '\r':
		return `\r`
	}
	return fmt.Sprintf(`\u%04x`, ch)
}

// contentLength returns the least and the most characters a string whose
// content matches e holds, counting an escape as the one character it
// stands for; most is -1 when there is no bound. Counts saturate at
// maxGrammarBytes.
func (c *compiler) contentLength(e gexpr, depth int) (least, most int) {
	sat := func(v int) int { return min(v, maxGrammarBytes) }
	switch e := e.(type) {
	case gLit:
		var decoded string
		if json.Unmarshal([]byte(`"`+string(e)+`"`), &decoded) != nil {
			decoded = string(e)
		}
		n := utf8.RuneCountInString(decoded)
		return n, n
	case gClass:
		return 1, 1
	case gRef:
		body, ok := c.rules[string(e)]
		if string(e) == "json-char" || !ok || depth > maxSchemaDepth {
			return 1, 1
		}
		return c.contentLength(body, depth+1)
	case gSeq:
		for _, x := range e {
			l, m := c.contentLength(x, depth)
			least = sat(least + l)
			if most >= 0 {
				most = sat(most + m)
				if m < 0 {
					most = -1
				}
			}
		}
		return least, most
	case gAlt:
		least = -1
		for _, x := range e {
			l, m := c.contentLength(x, depth)
			if least < 0 || l < least {
				least = l
			}
			if most >= 0 && (m < 0 || m > most) {
				most = m
			}
		}
		return least, most
	case gRep:
		l, m := c.contentLength(e.x, depth)
		least = sat(l * e.min)
		switch {
		case m == 0:
			most = 0
		case e.max < 0 || m < 0:
			most = -1
		default:
			most = sat(m * e.max)
		}
		return least, most
	}
	return 0, 0
}
