package think

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// corpus returns inputs that exercise tags, partial tags, white space of
// several widths and broken UTF-8, fixed and random.
func corpus() []string {
	fixed := []string{
		"", "plain", "</think>\n\n4", "<think>reasoning here</think>answer",
		"<think>x</think>y</think>z", "<think></think>", "a<think>b",
		"pre </think> post", "  </think>x", "\u3000\xe3</think>x",
		"<think>a\u3000</think> b \u00a0<think>\xe3\x80</think>\xe3\x80",
		"<<think>>", "<</think>/think>", "<thi<think>x</think>nk>",
		"x\n\n<think>\n</think>\n\n<think>y</think>\n", "\xff</think>z",
		"a <thin", "a </thi", "<think>open <think> inner</think> out",
	}
	pieces := []string{
		openTag, closeTag, "<", "<th", "<think", "</", "</thi", "k>", ">",
		"a", "bc", " ", "\n", "\t", "\u3000", "\u00a0", "é", "\xe3", "\x80",
		"\xff", "x y", "<tool_call>",
	}
	r := rand.New(rand.NewPCG(1, 2))
	out := fixed
	for range 3000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out = append(out, b.String())
	}
	return out
}

// chunk cuts s at random byte positions.
func chunk(r *rand.Rand, s string) []string {
	var out []string
	for s != "" {
		n := 1 + r.IntN(min(len(s), 1+r.IntN(9)))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func runSplitter(open bool, chunks []string) (text, reasoning string) {
	sp := NewSplitter(open)
	var t, r strings.Builder
	for _, c := range chunks {
		a, b := sp.Push(c)
		t.WriteString(a)
		r.WriteString(b)
	}
	a, b := sp.Flush()
	t.WriteString(a)
	r.WriteString(b)
	return t.String(), r.String()
}

// wantStream is what a Splitter must emit for s: Split's answer, except
// after a leading bare closer that follows text already emitted, where the
// closer is just dropped (the documented exception).
func wantStream(s string, open bool) (text, reasoning string) {
	if open {
		return SplitOpen(s)
	}
	c, o := strings.Index(s, closeTag), strings.Index(s, openTag)
	if c >= 0 && (o < 0 || c < o) {
		before := strings.TrimLeftFunc(s[:c], unicode.IsSpace)
		if before != "" && utf8.FullRuneInString(before) {
			// Text was emitted before the closer: the stream reads the
			// closer as a later bare one.
			return splitDroppingCloser(s, c)
		}
	}
	return Split(s)
}

// splitDroppingCloser is Split of s with the bare closer at c removed and
// treated as already past the leading position.
func splitDroppingCloser(s string, c int) (text, reasoning string) {
	restText, restReasoning := split("x"+openTag+closeTag+s[c+len(closeTag):], false)
	// The "x<think></think>" prefix disables the leading-closer rule and
	// adds nothing but "x" to the text, which is replaced by the prefix.
	return strings.TrimSpace(s[:c] + restText[1:]), restReasoning
}

func TestSplitterMatchesSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range corpus() {
		for _, open := range []bool{false, true} {
			wantT, wantR := wantStream(s, open)
			for range 8 {
				chunks := chunk(r, s)
				gotT, gotR := runSplitter(open, chunks)
				if gotT != wantT || gotR != wantR {
					t.Fatalf("open=%v chunks %q:\n got (%q, %q)\nwant (%q, %q)", open, chunks, gotT, gotR, wantT, wantR)
				}
			}
		}
	}
}

func TestSplitterCases(t *testing.T) {
	tests := []struct {
		name      string
		open      bool
		chunks    []string
		text      string
		reasoning string
	}{
		{"tag split at every byte", false, strings.Split("<think>hm</think>ok", ""), "ok", "hm"},
		{"template-opened block", true, []string{"Let me see", ".</thi", "nk>\n\nIt is 4."}, "It is 4.", "Let me see."},
		{"leading closer before any text", false, []string{"\n\n</think>", "\n4"}, "4", ""},
		{"leading closer after text (exception)", false, []string{"abc", "</think>def"}, "abcdef", ""},
		{"unclosed at flush", false, []string{"a<think>b", "c"}, "a", "bc"},
		{"partial tag at flush is text", false, []string{"see <thi"}, "see <thi", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, reasoning := runSplitter(tt.open, tt.chunks)
			if text != tt.text || reasoning != tt.reasoning {
				t.Errorf("got (%q, %q), want (%q, %q)", text, reasoning, tt.text, tt.reasoning)
			}
		})
	}
}

// Deltas are final: no delta may hold a piece of a tag, and each is
// emitted as soon as it is certain.
func TestSplitterEmitsNoTagFragments(t *testing.T) {
	sp := NewSplitter(false)
	steps := []struct{ in, text, reasoning string }{
		{"Hi <th", "Hi", ""},
		{"ink>pon", "", "pon"},
		{"der </", "", "der"},
		{"think", "", ""},
		{"> there", "  there", ""}, // the space held after "Hi", then this one
	}
	for _, st := range steps {
		text, reasoning := sp.Push(st.in)
		if text != st.text || reasoning != st.reasoning {
			t.Fatalf("Push(%q) = (%q, %q), want (%q, %q)", st.in, text, reasoning, st.text, st.reasoning)
		}
	}
	if text, reasoning := sp.Flush(); text != "" || reasoning != "" {
		t.Fatalf("Flush = (%q, %q), want nothing", text, reasoning)
	}
}

func FuzzSplitter(f *testing.F) {
	for _, s := range corpus()[:40] {
		f.Add(s, uint64(7))
	}
	f.Fuzz(func(t *testing.T, s string, seed uint64) {
		Strip(s)
		checkSplitAgreesWithStrip(t, s)
		r := rand.New(rand.NewPCG(seed, seed))
		for _, open := range []bool{false, true} {
			wantT, wantR := wantStream(s, open)
			chunks := chunk(r, s)
			gotT, gotR := runSplitter(open, chunks)
			if gotT != wantT || gotR != wantR {
				t.Fatalf("open=%v chunks %q:\n got (%q, %q)\nwant (%q, %q)", open, chunks, gotT, gotR, wantT, wantR)
			}
		}
	})
}
