// Package trimstream trims white space from text that arrives in pieces,
// as a model streams it.
package trimstream

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Trimmer streams text into Out with its leading and trailing white space
// removed, giving in total what strings.TrimSpace gives on the whole. It
// holds back only a run of white space at the end (emitted if more text
// follows) and an incomplete UTF-8 sequence (it may become white space).
//
// A Trimmer can also stream several segments, each trimmed on its own,
// empty ones dropped, the others joined by Separator: call EndSegment
// after each.
type Trimmer struct {
	Out       *strings.Builder
	Separator string

	started bool   // the current segment has emitted something
	emitted bool   // any segment has emitted something
	space   []byte // white space held after the last emitted rune
	partial []byte // an incomplete UTF-8 sequence at the end
}

// Write streams the next piece of text.
func (t *Trimmer) Write(s string) {
	if len(t.partial) > 0 {
		s = string(t.partial) + s
		t.partial = t.partial[:0]
	}
	run := -1 // start of the current run of non-space runes
	for i := 0; i < len(s); {
		if !utf8.FullRuneInString(s[i:]) {
			t.emit(s, run, i)
			t.partial = append(t.partial, s[i:]...)
			return
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			t.emit(s, run, i)
			run = -1
			if t.started {
				t.space = append(t.space, s[i:i+size]...)
			}
		} else if run < 0 {
			run = i
		}
		i += size
	}
	t.emit(s, run, len(s))
}

// emit writes s[run:end], a run of non-space runes, after the white space
// held before it.
func (t *Trimmer) emit(s string, run, end int) {
	if run < 0 || run == end {
		return
	}
	if !t.started {
		if t.emitted {
			t.Out.WriteString(t.Separator)
		}
		t.started, t.emitted = true, true
	}
	t.Out.Write(t.space)
	t.space = t.space[:0]
	t.Out.WriteString(s[run:end])
}

// EndSegment ends the current segment: held white space is dropped, and a
// held incomplete sequence, which can no longer become white space, is
// emitted.
func (t *Trimmer) EndSegment() {
	if len(t.partial) > 0 {
		p := string(t.partial)
		t.partial = t.partial[:0]
		t.emit(p, 0, len(p))
	}
	t.space = t.space[:0]
	t.started = false
}

// Started reports whether the current segment has emitted any text.
func (t *Trimmer) Started() bool { return t.started }

// TakePartial removes and returns a held incomplete UTF-8 sequence, for a
// caller that moves the start of a stream elsewhere.
func (t *Trimmer) TakePartial() string {
	p := string(t.partial)
	t.partial = t.partial[:0]
	return p
}
