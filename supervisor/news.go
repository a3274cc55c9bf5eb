package supervisor

import "hash/fnv"

// maxShapes bounds how many line shapes start-up remembers. A server that
// prints more different lines than this while starting gets each further
// new line counted as progress; the start-up cap still ends it.
const maxShapes = 4096

// newsFilter decides which lines of a starting server's output are news —
// a sign that start-up is getting somewhere — for the start-up budget.
// Output as such is not: servers log every request, so the readiness
// probes' own echoes would keep a server that never gets ready alive for
// ever, as would a heartbeat. A line is news when its shape (see
// [lineShape]) has not been seen before, or when it reports a higher
// percentage than the last line of its shape ("loading tensors 40%").
type newsFilter struct {
	shapes map[uint64]float64 // shape → highest percentage seen (-1: none)
}

func (n *newsFilter) isNews(line []byte) bool {
	if n.shapes == nil {
		n.shapes = make(map[uint64]float64)
	}
	shape, pct := lineShape(line)
	prev, seen := n.shapes[shape]
	switch {
	case !seen:
		if len(n.shapes) < maxShapes {
			n.shapes[shape] = pct
		}
		return true
	case pct > prev:
		n.shapes[shape] = pct
		return true
	}
	return false
}

// lineShape reduces a log line to what stays the same when the line is
// printed again for the same reason: every word that holds a digit (a
// time, a counter, an address, a port, an id) becomes one placeholder and
// every run of blanks one space, so "request: GET /health 127.0.0.1:39012
// 503" and the same request a second later have one shape, as do the
// lines of a heartbeat. It also returns the line's first percentage ("40%"
// gives 40), or -1.
func lineShape(line []byte) (shape uint64, pct float64) {
	h := fnv.New64a()
	pct = -1
	var out [1]byte
	put := func(c byte) {
		out[0] = c
		h.Write(out[:])
	}
	blank := false
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case isWordByte(c):
			start, digits := i, false
			for i < len(line) && isWordByte(line[i]) {
				digits = digits || isDigit(line[i])
				i++
			}
			if !digits {
				h.Write(line[start:i])
				break
			}
			// A decimal fraction is one number: "12.5%".
			if i+1 < len(line) && line[i] == '.' && isDigit(line[i+1]) && allDigits(line[start:i]) {
				i++
				for i < len(line) && isWordByte(line[i]) {
					i++
				}
			}
			put('#')
			if pct < 0 && i < len(line) && line[i] == '%' {
				pct = parsePercent(line[start:i])
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if !blank {
				put(' ')
			}
			blank = true
			i++
			continue
		default:
			put(c)
			i++
		}
		blank = false
	}
	return h.Sum64(), pct
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWordByte(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// parsePercent reads "40" or "12.5"; anything else (a word that only holds
// digits, "x86%") is -1.
func parsePercent(b []byte) float64 {
	var v, scale float64 = 0, 0
	for _, c := range b {
		switch {
		case isDigit(c):
			v = v*10 + float64(c-'0')
			if scale > 0 {
				scale *= 10
			}
		case c == '.' && scale == 0:
			scale = 1
		default:
			return -1
		}
	}
	if scale > 1 {
		v /= scale
	}
	return v
}
