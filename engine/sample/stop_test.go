package sample

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// feed pushes pieces and returns what was emitted piece by piece, and
// whether a stop was reported.
func feed(m *StopMatcher, pieces []string) (emitted []string, stopped bool) {
	for _, p := range pieces {
		e, s := m.Push(p)
		emitted = append(emitted, e)
		if s {
			return emitted, true
		}
	}
	return append(emitted, m.Flush()), false
}

func TestStopMatcher(t *testing.T) {
	tests := []struct {
		name        string
		stops       []string
		pieces      []string
		wantEmitted []string // per Push, then the Flush if not stopped
		wantStopped bool
	}{
		{"no stops passes text through", nil, []string{"ab", "cd"}, []string{"ab", "cd", ""}, false},
		{"stop inside one piece", []string{"END"}, []string{"abENDcd"}, []string{"ab"}, true},
		{"stop across pieces", []string{"END"}, []string{"abE", "N", "Dxyz"}, []string{"ab", "", ""}, true},
		{"held back text released on mismatch", []string{"END"}, []string{"abE", "Nx"}, []string{"ab", "ENx", ""}, false},
		{"held back text flushed at the end", []string{"END"}, []string{"abEN"}, []string{"ab", "EN"}, false},
		{"stop at the very start", []string{"<|im_end|>"}, []string{"<|im", "_end|>"}, []string{"", ""}, true},
		{"earliest stop wins", []string{"cd", "b"}, []string{"abcd"}, []string{"a"}, true},
		{"longest possible prefix held", []string{"aab"}, []string{"xaa", "ab"}, []string{"x", "a"}, true},
		{"empty stop ignored", []string{""}, []string{"ab"}, []string{"ab", ""}, false},
		{"incomplete UTF-8 held", nil, []string{"a\xc3", "\xa9b"}, []string{"a", "éb", ""}, false},
		{"three-byte rune split three ways", nil, []string{"\xe2", "\x82", "\xac!"}, []string{"", "", "€!", ""}, false},
		{"stray continuation byte not held", nil, []string{"a\x80"}, []string{"a\x80", ""}, false},
		{"stop after a multibyte rune", []string{"é!"}, []string{"x\xc3", "\xa9", "!"}, []string{"x", "", ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewStopMatcher(tt.stops)
			emitted, stopped := feed(m, tt.pieces)
			if stopped != tt.wantStopped {
				t.Errorf("stopped = %v, want %v", stopped, tt.wantStopped)
			}
			if strings.Join(emitted, "|") != strings.Join(tt.wantEmitted, "|") {
				t.Errorf("emitted %q, want %q", emitted, tt.wantEmitted)
			}
			if m.Stopped() != tt.wantStopped {
				t.Errorf("Stopped() = %v, want %v", m.Stopped(), tt.wantStopped)
			}
		})
	}
}

func TestStopMatcherAfterStop(t *testing.T) {
	m := NewStopMatcher([]string{"x"})
	if _, stopped := m.Push("ax"); !stopped {
		t.Fatal("no stop reported")
	}
	if e, stopped := m.Push("more"); e != "" || !stopped {
		t.Errorf("Push after stop = %q, %v; want \"\", true", e, stopped)
	}
	if f := m.Flush(); f != "" {
		t.Errorf("Flush after stop = %q, want \"\"", f)
	}
}

// FuzzStopMatcher checks, for any text cut into any pieces, that the
// released text is exactly the text before the stop string generation
// ends at, and that no released prefix ever ends inside a stop string's
// occurrence. Generation ends with the first piece after which a stop
// string has appeared whole, at the earliest of those that have, as
// llama.cpp's server decides: with stops "aba" and "b", the text "aba"
// stops at "b" when it comes a byte at a time (the "b" is whole before
// "aba" is), and at "aba" when it comes at once.
func FuzzStopMatcher(f *testing.F) {
	f.Add("hello END world", "END", "", uint8(3))
	f.Add("<|im_end|>", "<|im_end|>", "<|endoftext|>", uint8(1))
	f.Add("aaab", "aab", "b", uint8(2))
	f.Add("caf\xc3\xa9 ok", "ok", "", uint8(4))
	f.Add("x\xe2\x82\xacy", "\x82", "", uint8(1))
	f.Fuzz(func(t *testing.T, text, stop1, stop2 string, cut uint8) {
		stops := []string{stop1, stop2}
		step := int(cut%7) + 1
		want, wantStop := text, false
		for end := step; !wantStop && end-step < len(text); end += step {
			seen := text[:min(end, len(text))]
			first := -1
			for _, s := range stops {
				if i := strings.Index(seen, s); s != "" && i >= 0 && (first < 0 || i < first) {
					first = i
				}
			}
			if first >= 0 {
				want, wantStop = seen[:first], true
			}
		}

		m := NewStopMatcher(stops)
		var got strings.Builder
		stopped := false
		for i := 0; i < len(text) && !stopped; i += step {
			e, s := m.Push(text[i:min(i+step, len(text))])
			got.WriteString(e)
			stopped = s
			if !strings.HasPrefix(want, got.String()) {
				t.Fatalf("released %q, which is not a prefix of %q", got.String(), want)
			}
			if !s && utf8.ValidString(text+stop1+stop2) && !utf8.ValidString(got.String()) {
				t.Fatalf("released invalid UTF-8 %q from valid text", got.String())
			}
		}
		got.WriteString(m.Flush())
		if stopped != wantStop || got.String() != want {
			t.Fatalf("text %q stops %q: released %q (stopped %v), want %q (stopped %v)",
				text, stops, got.String(), stopped, want, wantStop)
		}
	})
}
