package grammar

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// charClass is a set of code points as sorted, disjoint, non-adjacent
// ranges; negation is resolved when the class is built.
type charClass struct {
	ranges []runeRange
	ascii  [2]uint64 // the class's code points below 128, for speed
}

type runeRange struct{ lo, hi rune }

// mergeRanges sorts ranges (in any order, possibly overlapping or
// empty) into disjoint ones, joining those that touch; rs is not changed.
func mergeRanges(rs []runeRange) []runeRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b runeRange) int { return int(a.lo - b.lo) })
	var merged []runeRange
	for _, r := range rs {
		if r.lo > r.hi {
			continue
		}
		if n := len(merged); n > 0 && r.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// newClass normalises ranges (in any order, possibly overlapping) into a
// class, complementing them when negated.
func newClass(rs []runeRange, negated bool) charClass {
	merged := mergeRanges(rs)
	if negated {
		var comp []runeRange
		next := rune(0)
		for _, r := range merged {
			if r.lo > next {
				comp = append(comp, runeRange{next, r.lo - 1})
			}
			next = r.hi + 1
		}
		if next <= utf8.MaxRune {
			comp = append(comp, runeRange{next, utf8.MaxRune})
		}
		merged = comp
	}
	c := charClass{ranges: merged}
	for _, r := range merged {
		for x := r.lo; x <= r.hi && x < 128; x++ {
			c.ascii[x>>6] |= 1 << (x & 63)
		}
	}
	return c
}

func (c *charClass) contains(r rune) bool {
	if r < 128 {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	i, _ := slices.BinarySearchFunc(c.ranges, r, func(x runeRange, r rune) int {
		switch {
		case x.hi < r:
			return -1
		case x.lo > r:
			return 1
		}
		return 0
	})
	return i < len(c.ranges) && c.ranges[i].lo <= r && r <= c.ranges[i].hi
}

// overlaps reports whether the class holds a code point in [lo, hi].
func (c *charClass) overlaps(lo, hi rune) bool {
	i, _ := slices.BinarySearchFunc(c.ranges, lo, func(x runeRange, r rune) int {
		if x.hi < r {
			return -1
		}
		return 1
	})
	return i < len(c.ranges) && c.ranges[i].lo <= hi
}

// containsAll reports whether the class holds every code point in
// [lo, hi].
func (c *charClass) containsAll(lo, hi rune) bool {
	i, _ := slices.BinarySearchFunc(c.ranges, lo, func(x runeRange, r rune) int {
		if x.hi < r {
			return -1
		}
		return 1
	})
	return i < len(c.ranges) && c.ranges[i].lo <= lo && hi <= c.ranges[i].hi
}

// key is the class's identity, for sharing one class among equal ones.
func (c *charClass) key() string {
	b := make([]byte, 0, 8*len(c.ranges))
	for _, r := range c.ranges {
		b = binary.LittleEndian.AppendUint32(b, uint32(r.lo))
		b = binary.LittleEndian.AppendUint32(b, uint32(r.hi))
	}
	return string(b)
}
