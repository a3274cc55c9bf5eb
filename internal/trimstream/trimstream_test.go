package trimstream

import (
	"strings"
	"testing"
)

// write streams s into a fresh Trimmer in pieces of n bytes.
func write(s string, n int, sep string, segments ...string) string {
	var out strings.Builder
	t := Trimmer{Out: &out, Separator: sep}
	for _, seg := range append([]string{s}, segments...) {
		for i := 0; i < len(seg); i += n {
			t.Write(seg[i:min(i+n, len(seg))])
		}
		t.EndSegment()
	}
	return out.String()
}

func TestTrimmerEqualsTrimSpace(t *testing.T) {
	for _, s := range []string{"", "  ", " a ", "\n\nhello  world\n", "\u00a0é\u2003x\u3000", "a\u2028", "é"} {
		for n := 1; n <= len(s)+1; n++ {
			if got, want := write(s, n, ""), strings.TrimSpace(s); got != want {
				t.Errorf("%q in pieces of %d: got %q, want %q", s, n, got, want)
			}
		}
	}
}

func TestTrimmerSegments(t *testing.T) {
	if got := write(" one ", 2, "\n\n", "  ", " two", "\tthree "); got != "one\n\ntwo\n\nthree" {
		t.Fatalf("got %q", got)
	}
}

func FuzzTrimmer(f *testing.F) {
	f.Add("  x y  ", uint8(1))
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		if got, want := write(s, int(n%16)+1, ""), strings.TrimSpace(s); got != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	})
}
