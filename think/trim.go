package think

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// trimmer streams text with its leading and trailing white space removed,
// giving in total what strings.TrimSpace gives on the whole. It holds back
// only a run of white space at the end (it is emitted if more text
// follows) and an incomplete UTF-8 sequence (it may become white space).
//
// A trimmer can also stream several segments, each trimmed on its own and
// joined by blockSeparator, empty ones dropped: call endSegment between
// them.
type trimmer struct {
	out      *strings.Builder
	started  bool   // the current segment has emitted something
	emitted  bool   // any segment has emitted something
	joinSegs bool   // separate segments with blockSeparator
	space    []byte // white space held after the last emitted rune
	partial  []byte // an incomplete UTF-8 sequence at the end
}

func (t *trimmer) write(s string) {
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
func (t *trimmer) emit(s string, run, end int) {
	if run < 0 || run == end {
		return
	}
	if !t.started {
		if t.joinSegs && t.emitted {
			t.out.WriteString(blockSeparator)
		}
		t.started, t.emitted = true, true
	}
	t.out.Write(t.space)
	t.space = t.space[:0]
	t.out.WriteString(s[run:end])
}

// endSegment ends the current segment: held white space is dropped, and a
// held incomplete sequence, which can no longer become white space, is
// emitted.
func (t *trimmer) endSegment() {
	if len(t.partial) > 0 {
		p := string(t.partial)
		t.partial = t.partial[:0]
		t.emit(p, 0, len(p))
	}
	t.space = t.space[:0]
	t.started = false
}
