package grammar

import (
	"fmt"
)

// compileString generates strings: free, between minLength and maxLength
// characters, of a format, or matching a pattern. A pattern or a format
// together with a length is refused: the grammar cannot count characters
// of a pattern's language.
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
	if pattern != nil || format != nil {
		what := "pattern"
		if pattern == nil {
			what = "format"
		}
		if hasLo {
			return nil, errAt(n.get("minLength"), "minLength beside %s is not supported", what)
		}
		if hasHi {
			return nil, errAt(n.get("maxLength"), "maxLength beside %s is not supported", what)
		}
	}
	quote := lit(`"`)
	if pattern != nil {
		if format != nil {
			return nil, errAt(format, "format beside pattern is not supported")
		}
		if pattern.kind != jsonString {
			return nil, errAt(pattern, "pattern must be a string")
		}
		e, err := c.compilePattern(pattern)
		if err != nil {
			return nil, err
		}
		return c.named("pattern", seq(quote, e, quote), pattern.path), nil
	}
	if format != nil {
		if format.kind != jsonString {
			return nil, errAt(format, "format must be a string")
		}
		e := formatGrammar(format.text)
		if e == nil {
			return nil, errAt(format, "format %q is not supported", format.text)
		}
		return c.named(format.text, seq(quote, e, quote), format.path), nil
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
