package grammar

import (
	"cmp"
	"math/big"
	"strconv"
	"strings"
)

// maxBound bounds the magnitude of minimum and maximum: ranges are written
// digit by digit over int64 values.
const maxBound = 1_000_000_000_000_000_000

// numBound is one end of a numeric range.
type numBound struct {
	v    *big.Rat
	excl bool
	at   *jsonNode // the keyword's value, for errors
}

// numericBounds reads minimum, maximum and their exclusive forms (numbers
// since draft 6, booleans modifying minimum and maximum in draft 4),
// keeping the tighter bound on each side.
func numericBounds(n *jsonNode) (lo, hi *numBound, err error) {
	read := func(key string) (*jsonNode, *big.Rat, error) {
		v := n.get(key)
		if v == nil || v.kind == jsonBool && (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
			return v, nil, nil
		}
		if v.kind != jsonNumber || v.rat() == nil {
			return nil, nil, errAt(v, "%s must be a number", key)
		}
		return v, v.rat(), nil
	}
	minNode, minV, err := read("minimum")
	if err != nil {
		return nil, nil, err
	}
	maxNode, maxV, err := read("maximum")
	if err != nil {
		return nil, nil, err
	}
	exMinNode, exMinV, err := read("exclusiveMinimum")
	if err != nil {
		return nil, nil, err
	}
	exMaxNode, exMaxV, err := read("exclusiveMaximum")
	if err != nil {
		return nil, nil, err
	}
	if minV != nil {
		lo = &numBound{v: minV, at: minNode}
		if exMinNode != nil && exMinNode.kind == jsonBool {
			lo.excl = exMinNode.boolean
		}
	}
	if exMinV != nil && (lo == nil || exMinV.Cmp(lo.v) >= 0) {
		lo = &numBound{v: exMinV, excl: true, at: exMinNode}
	}
	if maxV != nil {
		hi = &numBound{v: maxV, at: maxNode}
		if exMaxNode != nil && exMaxNode.kind == jsonBool {
			hi.excl = exMaxNode.boolean
		}
	}
	if exMaxV != nil && (hi == nil || exMaxV.Cmp(hi.v) <= 0) {
		hi = &numBound{v: exMaxV, excl: true, at: exMaxNode}
	}
	for _, b := range []*numBound{lo, hi} {
		if b != nil && new(big.Rat).Abs(b.v).Cmp(new(big.Rat).SetInt64(maxBound)) > 0 {
			return nil, nil, errAt(b.at, "a bound beyond ±1e18 is not supported")
		}
	}
	return lo, hi, nil
}

// compileNumber generates numbers, or integers only, within the schema's
// bounds (any number up to ±1e18; on numbers, with at most maxBoundDigits
// fraction digits). Bounded numbers are written without an exponent.
func (c *compiler) compileNumber(n *jsonNode, integerOnly bool) (gexpr, error) {
	lo, hi, err := numericBounds(n)
	if err != nil {
		return nil, err
	}
	step := int64(1)
	if m := n.get("multipleOf"); m != nil {
		r := m.rat()
		if m.kind != jsonNumber || r == nil || r.Sign() <= 0 {
			return nil, errAt(m, "multipleOf must be a number above 0")
		}
		if !r.IsInt() || !r.Num().IsInt64() {
			return nil, errAt(m, "multipleOf is only supported as an integer")
		}
		// The multiples of an integer are integers: numbers are
		// generated as integers.
		step, integerOnly = r.Num().Int64(), true
	}
	if integerOnly {
		if lo == nil && hi == nil && step == 1 {
			return c.prim("json-integer"), nil
		}
		var ilo, ihi *int64
		if lo != nil {
			v := ceilRat(lo.v)
			if lo.excl && lo.v.IsInt() {
				v++
			}
			ilo = &v
		}
		if hi != nil {
			v := floorRat(hi.v)
			if hi.excl && hi.v.IsInt() {
				v--
			}
			ihi = &v
		}
		if ilo != nil && ihi != nil && *ilo > *ihi {
			return nil, errAt(hi.at, "no integer lies within minimum and maximum")
		}
		if step > 1 {
			return c.multiples(n, step, ilo, ihi)
		}
		return c.named("integer", intRange(ilo, ihi), n.path), nil
	}
	if lo == nil && hi == nil {
		return c.prim("json-number"), nil
	}
	var b [2]*decBound
	for i, nb := range []*numBound{lo, hi} {
		if nb == nil {
			continue
		}
		d, ok := newDecBound(nb.v, nb.excl)
		if !ok {
			return nil, errAt(nb.at, "a bound with more than %d fraction digits is not supported", maxBoundDigits)
		}
		b[i] = d
	}
	e := decimalRange(b[0], b[1])
	if _, none := e.(gNone); none {
		return nil, errAt(cmp.Or(hi, lo).at, "no number lies within minimum and maximum")
	}
	return c.named("number", e, n.path), nil
}

// maxMultiples bounds the multiples a multipleOf range spells out.
const maxMultiples = 1000

// multiples lists the multiples of step within [lo, hi], which must both
// be bounded and hold at most maxMultiples of them.
func (c *compiler) multiples(n *jsonNode, step int64, lo, hi *int64) (gexpr, error) {
	at := n.get("multipleOf")
	if lo == nil || hi == nil {
		return nil, errAt(at, "multipleOf is only supported between a minimum and a maximum")
	}
	first := *lo / step * step
	if first < *lo {
		first += step
	}
	if *hi >= first && (*hi-first)/step >= maxMultiples {
		return nil, errAt(at, "multipleOf over more than %d multiples is not supported", maxMultiples)
	}
	var alts []gexpr
	for v := first; v <= *hi; v += step {
		alts = append(alts, lit(strconv.FormatInt(v, 10)))
	}
	if len(alts) == 0 {
		return nil, errAt(at, "no multiple lies within minimum and maximum")
	}
	return c.named("multiple", alt(alts...), n.path), nil
}

func floorRat(r *big.Rat) int64 {
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floors for a positive divisor
	return q.Int64()
}

func ceilRat(r *big.Rat) int64 {
	f := floorRat(r)
	if !r.IsInt() {
		f++
	}
	return f
}

// intRange is the decimal integers in [lo, hi]; nil is no bound. An
// unbounded side goes up to 16 digits (or the bound's length).
func intRange(lo, hi *int64) gexpr {
	var alts []gexpr
	// Negative values, as "-" and a magnitude.
	if lo == nil || *lo < 0 {
		magLo := int64(1)
		if hi != nil && *hi < 0 {
			magLo = -*hi
		}
		if lo == nil {
			alts = append(alts, seq(lit("-"), uintRange(uint64(magLo), 0, true)))
		} else if magLo <= -*lo {
			alts = append(alts, seq(lit("-"), uintRange(uint64(magLo), uint64(-*lo), false)))
		}
	}
	if hi == nil || *hi >= 0 {
		from := int64(0)
		if lo != nil && *lo > 0 {
			from = *lo
		}
		if hi == nil {
			alts = append(alts, uintRange(uint64(from), 0, true))
		} else if from <= *hi {
			alts = append(alts, uintRange(uint64(from), uint64(*hi), false))
		}
	}
	return alt(alts...)
}

// uintRange is the numerals, without leading zeros, of the integers in
// [lo, hi], or of those from lo up when open.
func uintRange(lo, hi uint64, open bool) gexpr {
	los := strconv.FormatUint(lo, 10)
	var alts []gexpr
	last := 0
	if open {
		last = len(los)
	} else {
		last = len(strconv.FormatUint(hi, 10))
	}
	for d := len(los); d <= last; d++ {
		a, b := los, strings.Repeat("9", d)
		if d > len(los) {
			a = "1" + strings.Repeat("0", d-1)
		}
		if !open && d == last {
			b = strconv.FormatUint(hi, 10)
		}
		alts = append(alts, fixedRange(a, b))
	}
	if open {
		if top := max(16, len(los)); top > len(los) {
			alts = append(alts, seq(class(runeRange{'1', '9'}), rep(digit(), len(los), top-1)))
		}
	}
	return alt(alts...)
}

// fixedRange is the numerals of n digits from a to b (both n digits long,
// a <= b): the classic split into a prefix that follows a, a middle of
// free digits, and a prefix that follows b.
func fixedRange(a, b string) gexpr {
	if a == "" {
		return gEps{}
	}
	if a[0] == b[0] {
		return seq(lit(a[:1]), fixedRange(a[1:], b[1:]))
	}
	n := len(a)
	low, high := rune(a[0]), rune(b[0])
	var alts []gexpr
	if strings.Trim(a[1:], "0") != "" {
		alts = append(alts, seq(lit(a[:1]), fixedRange(a[1:], strings.Repeat("9", n-1))))
		low++
	}
	var top gexpr
	if strings.Trim(b[1:], "9") != "" {
		top = seq(lit(b[:1]), fixedRange(strings.Repeat("0", n-1), b[1:]))
		high--
	}
	if low <= high {
		alts = append(alts, seq(class(runeRange{low, high}), rep(digit(), n-1, n-1)))
	}
	if top != nil {
		alts = append(alts, top)
	}
	return alt(alts...)
}

// maxBoundDigits bounds the fraction digits of a bound on a number.
const maxBoundDigits = 32

// decBound is one end of a range of decimal numbers: a sign, an integer
// part and fraction digits without trailing zeros.
type decBound struct {
	neg  bool
	int  uint64
	frac string
	excl bool
}

func newDecBound(r *big.Rat, excl bool) (*decBound, bool) {
	scaled := new(big.Rat).Set(r)
	ten := big.NewRat(10, 1)
	digits := 0
	for !scaled.IsInt() {
		if digits == maxBoundDigits {
			return nil, false
		}
		scaled.Mul(scaled, ten)
		digits++
	}
	text := new(big.Rat).Abs(r).FloatString(digits)
	ip, fp, _ := strings.Cut(text, ".")
	v, err := strconv.ParseUint(ip, 10, 64)
	if err != nil {
		return nil, false // beyond maxBound, refused before
	}
	return &decBound{neg: r.Sign() < 0, int: v, frac: strings.TrimRight(fp, "0"), excl: excl}, true
}

func (d *decBound) zero() bool { return d.int == 0 && d.frac == "" }

// negated is the bound of -x.
func (d *decBound) negated() *decBound {
	n := *d
	n.neg = !d.neg && !d.zero()
	return &n
}

// decimalRange is the decimal numbers (no exponent) between two bounds;
// nil is no bound. Negative numbers are "-" and a magnitude; "-0" is never
// written.
func decimalRange(lo, hi *decBound) gexpr {
	zero := &decBound{}
	var alts []gexpr
	// x >= 0
	if hi == nil || !hi.neg && (!hi.zero() || !hi.excl) {
		from := zero
		if lo != nil && !lo.neg {
			from = lo
		}
		alts = append(alts, magnitudeRange(from, hi))
	}
	// x < 0, as -y with y > 0
	if lo == nil || lo.neg {
		from := &decBound{excl: true}
		if hi != nil && hi.neg {
			from = hi.negated()
		}
		var to *decBound
		if lo != nil {
			to = lo.negated()
		}
		alts = append(alts, seq(lit("-"), magnitudeRange(from, to)))
	}
	return alt(alts...)
}

// cmpMagnitude compares two non-negative bounds' values.
func cmpMagnitude(a, b *decBound) int {
	switch {
	case a.int < b.int:
		return -1
	case a.int > b.int:
		return 1
	}
	n := max(len(a.frac), len(b.frac))
	return strings.Compare(a.frac+strings.Repeat("0", n-len(a.frac)), b.frac+strings.Repeat("0", n-len(b.frac)))
}

// magnitudeRange is the non-negative decimals y with from < y (or <=) and
// y < to (or <=); to nil is no bound. By integer part k: k = from's has its
// fraction bounded below, k = to's above (both when they are the same), and
// the integer parts between take any fraction.
func magnitudeRange(from, to *decBound) gexpr {
	if to != nil {
		if c := cmpMagnitude(from, to); c > 0 || c == 0 && (from.excl || to.excl) {
			return gNone{}
		}
	}
	num := func(v uint64) gexpr { return lit(strconv.FormatUint(v, 10)) }
	if to != nil && from.int == to.int {
		return seq(num(from.int), fractionRange(from, to))
	}
	alts := []gexpr{seq(num(from.int), fractionRange(from, nil))}
	switch {
	case to == nil:
		alts = append(alts, seq(uintRange(from.int+1, 0, true), opt(fraction())))
	case from.int+1 <= to.int-1:
		alts = append(alts, seq(uintRange(from.int+1, to.int-1, false), opt(fraction())))
	}
	if to != nil {
		alts = append(alts, seq(num(to.int), fractionRange(nil, to)))
	}
	return alt(alts...)
}

// fractionRange is an optional fraction (nothing, or "." and digits) whose
// value lies within the bounds' fractions; nil is no bound. It walks the
// digits keeping track of whether they still equal the lower bound's, the
// upper bound's, or both; once they differ the rest are free.
func fractionRange(lo, hi *decBound) gexpr {
	if lo == nil && hi == nil {
		return opt(fraction())
	}
	last := 16
	digitOf := func(b *decBound, i int) rune {
		if i < len(b.frac) {
			return rune(b.frac[i])
		}
		return '0'
	}
	if lo != nil {
		last = max(last, len(lo.frac)+16)
	}
	if hi != nil {
		last = max(last, len(hi.frac)+16)
	}
	// walk is the digits from position i on, the ones before having been
	// equal to lo's (lt) and to hi's (ht).
	var walk func(i int, lt, ht bool) gexpr
	walk = func(i int, lt, ht bool) gexpr {
		if !lt && !ht {
			return rep(digit(), 0, last-i)
		}
		var alts []gexpr
		// Ending here (after at least one digit): the fraction equals the
		// bound if the bound has no more digits, else it is below it.
		if i > 0 {
			ok := true
			if lt {
				ok = i >= len(lo.frac) && !lo.excl
			}
			if ht && i >= len(hi.frac) && hi.excl {
				ok = false
			}
			if ok {
				alts = append(alts, gEps{})
			}
		}
		if i < last {
			low, high := '0', '9'
			if lt {
				low = digitOf(lo, i)
			}
			if ht {
				high = digitOf(hi, i)
			}
			if low < high {
				if low+1 <= high-1 {
					alts = append(alts, seq(class(runeRange{low + 1, high - 1}), rep(digit(), 0, last-i-1)))
				}
				if lt {
					alts = append(alts, seq(lit(string(low)), walk(i+1, true, false)))
				} else {
					alts = append(alts, seq(class(runeRange{low, low}), rep(digit(), 0, last-i-1)))
				}
				if ht {
					alts = append(alts, seq(lit(string(high)), walk(i+1, false, true)))
				} else {
					alts = append(alts, seq(class(runeRange{high, high}), rep(digit(), 0, last-i-1)))
				}
			} else if low == high {
				alts = append(alts, seq(lit(string(low)), walk(i+1, lt, ht)))
			}
		}
		return alt(alts...)
	}
	// No fraction at all is the value 0.
	empty := (lo == nil || lo.frac == "" && !lo.excl) && (hi == nil || hi.frac != "" || !hi.excl)
	e := seq(lit("."), walk(0, lo != nil, hi != nil))
	if empty {
		return opt(e)
	}
	return e
}
