package toolcall

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// trimmer streams text with its leading and trailing white space removed,
// giving in total what strings.TrimSpace gives on the whole. It holds back
// only a run of white space at the end (emitted if more text follows) and
// an incomplete UTF-8 sequence (it may become white space). The think
// package has the same helper for its own streams.
type trimmer struct {
	out     *strings.Builder
	started bool
	space   []byte
	partial []byte
}

func (t *trimmer) write(s string) {
	if len(t.partial) > 0 {
		s = string(t.partial) + s
		t.partial = t.partial[:0]
	}
	run := -1
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

func (t *trimmer) emit(s string, run, end int) {
	if run < 0 || run == end {
		return
	}
	t.started = true
	t.out.Write(t.space)
	t.space = t.space[:0]
	t.out.WriteString(s[run:end])
}

// end drops trailing white space and emits a held incomplete sequence,
// which can no longer become white space.
func (t *trimmer) end() {
	if len(t.partial) > 0 {
		p := string(t.partial)
		t.partial = t.partial[:0]
		t.emit(p, 0, len(p))
	}
	t.space = t.space[:0]
}
