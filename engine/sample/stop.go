package sample

import (
	"bytes"
	"unicode/utf8"
)

// StopMatcher finds stop strings in generated text that arrives piece by
// piece. Text is released only once it can no longer turn out to be part
// of a stop string or of an incomplete UTF-8 sequence; the stop string
// itself, and anything after it, is never released.
type StopMatcher struct {
	stops []string
	// stopBytes holds the same strings, for searching pending without
	// converting it.
	stopBytes [][]byte
	pending   []byte
	stopped   bool
}

// NewStopMatcher returns a matcher for stops; empty strings are ignored.
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
			m.stopBytes = append(m.stopBytes, []byte(s))
		}
	}
	return m
}

// Push adds the next piece of generated text. It returns the text that is
// safe to show now and whether a stop string has been completed; once it
// has, the matcher releases nothing more.
func (m *StopMatcher) Push(piece string) (emit string, stopped bool) {
	out, stopped := m.AppendPush(nil, []byte(piece))
	return string(out), stopped
}

// AppendPush is Push appending the released text to dst, for callers
// that reuse a buffer: it allocates only when dst or the matcher's own
// buffer must grow.
func (m *StopMatcher) AppendPush(dst, piece []byte) ([]byte, bool) {
	if m.stopped {
		return dst, true
	}
	m.pending = append(m.pending, piece...)
	if at, ok := m.earliestStop(); ok {
		dst = append(dst, m.pending[:at]...)
		m.pending = m.pending[:0]
		m.stopped = true
		return dst, true
	}
	keep := max(m.partialStopSuffix(), incompleteUTF8Suffix(m.pending))
	n := len(m.pending) - keep
	dst = append(dst, m.pending[:n]...)
	m.pending = append(m.pending[:0], m.pending[n:]...)
	return dst, false
}

// Flush releases whatever is held back, at the end of generation.
func (m *StopMatcher) Flush() string {
	if m.stopped {
		return ""
	}
	s := string(m.pending)
	m.pending = m.pending[:0]
	return s
}

// Stopped reports whether a stop string has been seen.
func (m *StopMatcher) Stopped() bool { return m.stopped }

// earliestStop returns where the first stop string in pending begins.
func (m *StopMatcher) earliestStop() (int, bool) {
	best := -1
	for _, s := range m.stopBytes {
		if i := bytes.Index(m.pending, s); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}

// partialStopSuffix is the length of the longest end of pending that is a
// proper beginning of some stop string.
func (m *StopMatcher) partialStopSuffix() int {
	longest := 0
	for _, s := range m.stops {
		for n := min(len(s)-1, len(m.pending)); n > longest; n-- {
			if string(m.pending[len(m.pending)-n:]) == s[:n] {
				longest = n
				break
			}
		}
	}
	return longest
}

// incompleteUTF8Suffix is the length of a UTF-8 sequence begun at the end
// of b but not finished; invalid bytes are not held back.
func incompleteUTF8Suffix(b []byte) int {
	for n := 1; n <= min(utf8.UTFMax-1, len(b)); n++ {
		c := b[len(b)-n]
		if utf8.RuneStart(c) {
			need := 0
			switch {
			case c&0xE0 == 0xC0:
				need = 2
			case c&0xF0 == 0xE0:
				need = 3
			case c&0xF8 == 0xF0:
				need = 4
			}
			if need > n {
				return n
			}
			return 0
		}
	}
	return 0
}
