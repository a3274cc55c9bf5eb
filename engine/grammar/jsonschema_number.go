package grammar

import (
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
// bounds. Bounds on integers may be any number; bounds on other numbers
// must be integers (0 to 1, 0 to 100 and "positive" are what schemas ask),
// and bounded numbers are written without an exponent.
func (c *compiler) compileNumber(n *jsonNode, integerOnly bool) (gexpr, error) {
	lo, hi, err := numericBounds(n)
	if err != nil {
		return nil, err
	}
	if integerOnly {
		if lo == nil && hi == nil {
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
		if !nb.v.IsInt() {
			return nil, errAt(nb.at, "a bound that is not an integer is only supported on integers")
		}
		b[i] = &decBound{v: nb.v.Num().Int64(), excl: nb.excl}
	}
	e := decimalRange(b[0], b[1])
	if _, none := e.(gNone); none {
		return nil, errAt(cmpOr(hi, lo).at, "no number lies within minimum and maximum")
	}
	return c.named("number", e, n.path), nil
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

// decBound is an integer end of a range of decimal numbers.
type decBound struct {
	v    int64
	excl bool
}

// decimalRange is the decimal numbers (no exponent) between integer bounds;
// nil is no bound. Negative numbers are "-" and a magnitude; "-0" is never
// written.
func decimalRange(lo, hi *decBound) gexpr {
	var alts []gexpr
	// x >= 0
	if hi == nil || hi.v > 0 || (hi.v == 0 && !hi.excl) {
		from := decBound{}
		if lo != nil && lo.v >= 0 {
			from = *lo
		}
		alts = append(alts, magnitudeRange(from, hi))
	}
	// x < 0, as -y with y > 0
	if lo == nil || lo.v < 0 {
		from := decBound{v: 0, excl: true}
		if hi != nil && hi.v < 0 {
			from = decBound{v: -hi.v, excl: hi.excl}
		}
		var to *decBound
		if lo != nil {
			to = &decBound{v: -lo.v, excl: lo.excl}
		}
		alts = append(alts, seq(lit("-"), magnitudeRange(from, to)))
	}
	return alt(alts...)
}

// magnitudeRange is the non-negative decimals y with from < y (or <=) and
// y < to (or <=); to nil is no bound.
func magnitudeRange(from decBound, to *decBound) gexpr {
	if to != nil && (from.v > to.v || (from.v == to.v && (from.excl || to.excl))) {
		return gNone{}
	}
	var alts []gexpr
	// An integer part k with any fraction covers [k, k+1).
	k := from.v
	if from.excl {
		k++
	}
	switch {
	case to == nil:
		alts = append(alts, seq(uintRange(uint64(k), 0, true), opt(fraction())))
	case k <= to.v-1:
		alts = append(alts, seq(uintRange(uint64(k), uint64(to.v-1), false), opt(fraction())))
	}
	// Just above an exclusive lower bound: its integer part and a fraction
	// that is not all zeros.
	if from.excl {
		nonzero := seq(lit("."), rep(lit("0"), 0, 15), class(runeRange{'1', '9'}), rep(digit(), 0, 15))
		alts = append(alts, seq(lit(strconv.FormatInt(from.v, 10)), nonzero))
	}
	// The upper bound itself.
	if to != nil && !to.excl {
		alts = append(alts, seq(lit(strconv.FormatInt(to.v, 10)), opt(seq(lit("."), rep(lit("0"), 1, 16)))))
	}
	return alt(alts...)
}
