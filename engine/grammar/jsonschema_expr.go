package grammar

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// gexpr is a GBNF expression as the schema compiler builds it. Keeping the
// grammar as a tree rather than text lets the compiler simplify it, measure
// it, and check it before it is written out: that every rule can finish
// (a recursive schema may require itself forever) and that no rule can reach
// itself without reading a character (llama.cpp refuses left recursion).
type gexpr interface{ isExpr() }

type (
	gLit   string      // a literal sequence of code points; never empty
	gClass []runeRange // one code point from a sorted, disjoint, non-empty set
	gRef   string      // a rule
	gSeq   []gexpr     // concatenation of two or more
	gAlt   []gexpr     // alternatives, two or more
	gRep   struct {    // repetition; max < 0 means no maximum
		x        gexpr
		min, max int
	}
	gEps  struct{} // the empty string
	gNone struct{} // no string at all: an unsatisfiable schema
)

func (gLit) isExpr()   {}
func (gClass) isExpr() {}
func (gRef) isExpr()   {}
func (gSeq) isExpr()   {}
func (gAlt) isExpr()   {}
func (gRep) isExpr()   {}
func (gEps) isExpr()   {}
func (gNone) isExpr()  {}

// lit, seq, alt, rep and opt build expressions already simplified, so that
// gEps and gNone only ever appear alone.
func lit(s string) gexpr {
	if s == "" {
		return gEps{}
	}
	return gLit(s)
}

func seq(xs ...gexpr) gexpr {
	var out gSeq
	for _, x := range xs {
		switch x := x.(type) {
		case gNone:
			return gNone{}
		case gEps:
		case gSeq:
			out = append(out, x...)
		case gLit:
			if n := len(out); n > 0 {
				if prev, ok := out[n-1].(gLit); ok {
					out[n-1] = prev + x
					continue
				}
			}
			out = append(out, x)
		default:
			out = append(out, x)
		}
	}
	switch len(out) {
	case 0:
		return gEps{}
	case 1:
		return out[0]
	}
	return out
}

func alt(xs ...gexpr) gexpr {
	var out gAlt
	nullable := false
	for _, x := range xs {
		switch x := x.(type) {
		case gNone:
		case gEps:
			nullable = true
		case gAlt:
			out = append(out, x...)
		default:
			out = append(out, x)
		}
	}
	var e gexpr
	switch len(out) {
	case 0:
		if nullable {
			return gEps{}
		}
		return gNone{}
	case 1:
		e = out[0]
	default:
		e = out
	}
	if nullable {
		return opt(e)
	}
	return e
}

func rep(x gexpr, min, max int) gexpr {
	if max >= 0 && max < min {
		return gNone{}
	}
	switch x.(type) {
	case gNone:
		if min == 0 {
			return gEps{}
		}
		return gNone{}
	case gEps:
		return gEps{}
	}
	if max == 0 {
		return gEps{}
	}
	if min == 1 && max == 1 {
		return x
	}
	return gRep{x: x, min: min, max: max}
}

func opt(x gexpr) gexpr { return rep(x, 0, 1) }

// class builds a one-character expression from (possibly unsorted,
// overlapping) ranges.
func class(ranges ...runeRange) gexpr {
	set := normalizeRanges(ranges)
	switch {
	case len(set) == 0:
		return gNone{}
	case len(set) == 1 && set[0].lo == set[0].hi:
		return gLit(string(set[0].lo))
	}
	return set
}

func normalizeRanges(ranges []runeRange) gClass { return gClass(mergeRanges(ranges)) }

// complementRanges returns every scalar value (surrogates excluded) not in set.
func complementRanges(set gClass) gClass {
	var out gClass
	next := rune(0)
	for _, r := range set {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, runeRange{next, utf8.MaxRune})
	}
	return subtractRanges(out, gClass{{0xD800, 0xDFFF}})
}

// subtractRanges returns the values of a that are not in b.
func subtractRanges(a, b gClass) gClass {
	var out gClass
	for _, r := range a {
		lo := r.lo
		for _, s := range b {
			if s.hi < lo || s.lo > r.hi {
				continue
			}
			if s.lo > lo {
				out = append(out, runeRange{lo, s.lo - 1})
			}
			lo = s.hi + 1
		}
		if lo <= r.hi {
			out = append(out, runeRange{lo, r.hi})
		}
	}
	return out
}

func intersectRanges(a, b gClass) gClass {
	var out gClass
	for _, r := range a {
		for _, s := range b {
			lo, hi := max(r.lo, s.lo), min(r.hi, s.hi)
			if lo <= hi {
				out = append(out, runeRange{lo, hi})
			}
		}
	}
	return normalizeRanges(out)
}

// ---- writing GBNF ----

const (
	precAlt = iota
	precSeq
	precAtom
)

func renderExpr(b *strings.Builder, e gexpr, prec int) {
	switch e := e.(type) {
	case gLit:
		b.WriteByte('"')
		for _, r := range string(e) {
			writeGBNFChar(b, r, false)
		}
		b.WriteByte('"')
	case gClass:
		renderClass(b, e)
	case gRef:
		b.WriteString(string(e))
	case gSeq:
		if prec > precSeq {
			b.WriteByte('(')
		}
		for i, x := range e {
			if i > 0 {
				b.WriteByte(' ')
			}
			renderExpr(b, x, precAtom)
		}
		if prec > precSeq {
			b.WriteByte(')')
		}
	case gAlt:
		if prec > precAlt {
			b.WriteByte('(')
		}
		for i, x := range e {
			if i > 0 {
				b.WriteString(" | ")
			}
			renderExpr(b, x, precSeq)
		}
		if prec > precAlt {
			b.WriteByte(')')
		}
	case gRep:
		renderExpr(b, e.x, precAtom)
		switch {
		case e.min == 0 && e.max == 1:
			b.WriteByte('?')
		case e.min == 0 && e.max < 0:
			b.WriteByte('*')
		case e.min == 1 && e.max < 0:
			b.WriteByte('+')
		case e.max < 0:
			fmt.Fprintf(b, "{%d,}", e.min)
		case e.min == e.max:
			fmt.Fprintf(b, "{%d}", e.min)
		default:
			fmt.Fprintf(b, "{%d,%d}", e.min, e.max)
		}
	case gEps:
		b.WriteString(`""`)
	case gNone:
		// Never written: the compiler removes unsatisfiable parts first.
		b.WriteString(`[^\x00-\U0010FFFF]`)
	}
}

// renderClass writes a set as [...] or, when shorter, as [^...] of its
// complement (surrogates are not characters either way).
func renderClass(b *strings.Builder, set gClass) {
	neg := false
	if c := complementRanges(set); len(c) < len(set) && len(c) > 0 {
		set, neg = c, true
	}
	b.WriteByte('[')
	if neg {
		b.WriteByte('^')
	}
	for _, r := range set {
		writeGBNFChar(b, r.lo, true)
		if r.hi > r.lo {
			b.WriteByte('-')
			writeGBNFChar(b, r.hi, true)
		}
	}
	b.WriteByte(']')
}

// writeGBNFChar writes one code point in a literal or class: printable
// ASCII as itself (" and \ escaped; in a class, also the class syntax
// [ ] ^ - and space, as hex), everything else as a hex escape, which every
// GBNF reader takes.
func writeGBNFChar(b *strings.Builder, r rune, inClass bool) {
	switch {
	case r == '"' || r == '\\':
		b.WriteByte('\\')
		b.WriteRune(r)
	case r > 0x20 && r < 0x7F && (!inClass || !strings.ContainsRune(`[]^-`, r)):
		b.WriteRune(r)
	case r == ' ' && !inClass:
		b.WriteRune(r)
	case r < 0x80:
		fmt.Fprintf(b, `\x%02X`, r)
	case r < 0x10000:
		fmt.Fprintf(b, `\u%04X`, r)
	default:
		fmt.Fprintf(b, `\U%08X`, r)
	}
}

// ---- analysis ----

// exprNullable reports whether e can match the empty string, given which
// rules can.
func exprNullable(e gexpr, nullable map[string]bool) bool {
	switch e := e.(type) {
	case gLit, gClass, gNone:
		return false
	case gRef:
		return nullable[string(e)]
	case gSeq:
		for _, x := range e {
			if !exprNullable(x, nullable) {
				return false
			}
		}
		return true
	case gAlt:
		for _, x := range e {
			if exprNullable(x, nullable) {
				return true
			}
		}
		return false
	case gRep:
		return e.min == 0 || exprNullable(e.x, nullable)
	}
	return true // gEps
}

// exprProductive reports whether e matches some finite string, given which
// rules do.
func exprProductive(e gexpr, productive map[string]bool) bool {
	switch e := e.(type) {
	case gNone:
		return false
	case gRef:
		return productive[string(e)]
	case gSeq:
		for _, x := range e {
			if !exprProductive(x, productive) {
				return false
			}
		}
		return true
	case gAlt:
		for _, x := range e {
			if exprProductive(x, productive) {
				return true
			}
		}
		return false
	case gRep:
		return e.min == 0 || exprProductive(e.x, productive)
	}
	return true
}

// pruneExpr rebuilds e with references to unproductive rules replaced by
// gNone, so that alternatives which could never finish disappear.
func pruneExpr(e gexpr, productive map[string]bool) gexpr {
	switch e := e.(type) {
	case gRef:
		if !productive[string(e)] {
			return gNone{}
		}
		return e
	case gSeq:
		xs := make([]gexpr, len(e))
		for i, x := range e {
			xs[i] = pruneExpr(x, productive)
		}
		return seq(xs...)
	case gAlt:
		xs := make([]gexpr, len(e))
		for i, x := range e {
			xs[i] = pruneExpr(x, productive)
		}
		return alt(xs...)
	case gRep:
		return rep(pruneExpr(e.x, productive), e.min, e.max)
	}
	return e
}

// leftRefs adds to out the rules e can begin with, before reading any
// character.
func leftRefs(e gexpr, nullable map[string]bool, out map[string]bool) {
	switch e := e.(type) {
	case gRef:
		out[string(e)] = true
	case gSeq:
		for _, x := range e {
			leftRefs(x, nullable, out)
			if !exprNullable(x, nullable) {
				return
			}
		}
	case gAlt:
		for _, x := range e {
			leftRefs(x, nullable, out)
		}
	case gRep:
		leftRefs(e.x, nullable, out)
	}
}

// openNullableRep finds a repetition without an upper bound over something
// that can be empty, which GBNF readers refuse (it could loop forever
// without reading).
func openNullableRep(e gexpr, nullable map[string]bool) bool {
	switch e := e.(type) {
	case gSeq:
		return slices.ContainsFunc(e, func(x gexpr) bool { return openNullableRep(x, nullable) })
	case gAlt:
		return slices.ContainsFunc(e, func(x gexpr) bool { return openNullableRep(x, nullable) })
	case gRep:
		return (e.max < 0 && exprNullable(e.x, nullable)) || openNullableRep(e.x, nullable)
	}
	return false
}
