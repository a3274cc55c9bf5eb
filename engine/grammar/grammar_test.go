package grammar

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
)

func mustParse(t testing.TB, src string) *Grammar {
	t.Helper()
	g, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return g
}

func TestParseValid(t *testing.T) {
	for _, src := range []string{
		`root ::= "a"`,
		"root ::= \"a\"\n",
		"# comment\nroot ::= x # trailing\nx ::= [a-z]+\n",
		`root ::= ("a" | "b")* "c"?`,
		"root ::= (\n  \"a\"\n  | \"b\"\n)\n",
		"root ::= \"a\" |\n  \"b\"",
		`root ::= [^"\\] . [\x00-\x1F] [\u00e9] [\U0001F600]`,
		`root ::= "\n\t\r\"\\\x41\u00e9\U0001F600"`,
		`root ::= "a"{3} "b"{2,} "c"{1,4} "d"{,2} "e"{0}`,
		`root ::= ""`,
		`root ::= | "x"`,
		"root ::= a\na ::= \"x\" a | \"y\"",
		"root ::= my_rule\nmy_rule ::= \"x\"",
		`root ::= [-a] [a-] [\]] [\-x] [é-ë]`,
		"root\t::=\t\"a\"\r\n",
	} {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%q): %v", src, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		src        string
		line, col  int    // of a *SyntaxError; 0 for a *RuleError
		msg        string // part of the message
		limitError bool
	}{
		{`root ::= "a`, 1, 10, "unterminated string", false},
		{`root ::= [a-z`, 1, 10, "unterminated character class", false},
		{"root ::= x", 1, 10, `rule "x" is not defined`, false},
		{"x ::= \"a\"", 0, 0, "no rule named root", false},
		{"root ::= \"a\"\nroot ::= \"b\"", 2, 1, "defined twice", false},
		{`root = "a"`, 1, 6, "expected ::=", false},
		{`root ::= ("a"`, 1, 14, "expected )", false},
		{`root ::= *`, 1, 10, "nothing before it", false},
		{`root ::= "a"{2,1}`, 1, 13, "maximum below its minimum", false},
		{`root ::= "a"{x}`, 1, 14, "expected a repetition count", false},
		{`root ::= "\q"`, 1, 11, "unknown escape", false},
		{`root ::= "\x4"`, 1, 11, "hex digits", false},
		{`root ::= [z-a]`, 1, 13, "backwards", false},
		{`root ::= "\U00110000"`, 1, 11, "beyond the last code point", false},
		{`root ::= <tok>`, 1, 10, "not supported", false},
		{"root ::= \"a\" )", 1, 14, "expected end of line", false},
		{"root ::= root \"a\" | \"b\"", 0, 0, "left-recursive", false},
		{"root ::= x\nx ::= y \"a\"\ny ::= \"\" | x", 0, 0, "left-recursive", false},
		{"root ::= (\"a\"*)*", 0, 0, "left-recursive", false},
		{"root ::= \"a\" root", 0, 0, "can never finish", false},
		{`root ::= "a"{0,1000000}`, 1, 16, "limit", true},
		{`root ::= "` + strings.Repeat("a", 200) + `"{10000}`, 1, 0, "elements", true},
		{strings.Repeat("(", 300) + "\"a\"" + strings.Repeat(")", 300), 1, 0, "nest", true},
		{"root ::= \"\xff\"", 1, 11, "invalid UTF-8", false},
	} {
		src := tc.src
		if strings.HasPrefix(src, "(") {
			src = "root ::= " + src
		}
		_, err := Parse(src)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", src)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %v, want a message containing %q", src, err, tc.msg)
		}
		if errors.Is(err, ErrLimit) != tc.limitError {
			t.Errorf("Parse(%q) = %v: errors.Is(ErrLimit) = %v", src, err, !tc.limitError)
		}
		var se *SyntaxError
		var re *RuleError
		switch {
		case tc.line == 0 && !errors.As(err, &re):
			t.Errorf("Parse(%q) = %T %v, want a *RuleError", src, err, err)
		case tc.line != 0 && !errors.As(err, &se):
			t.Errorf("Parse(%q) = %T %v, want a *SyntaxError", src, err, err)
		case tc.line != 0 && (se.Line != tc.line || tc.col != 0 && se.Column != tc.col):
			t.Errorf("Parse(%q) at %d:%d, want %d:%d (%v)", src, se.Line, se.Column, tc.line, tc.col, err)
		}
	}
}

func TestParseSourceLimit(t *testing.T) {
	_, err := Parse("root ::= \"" + strings.Repeat("a", MaxSource) + "\"")
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("oversized grammar: %v", err)
	}
}

func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		src    string
		accept []string
		reject []string
	}{
		{`root ::= "abc"`, []string{"abc"}, []string{"", "ab", "abcd", "abd"}},
		{`root ::= [a-c]+`, []string{"a", "abcba"}, []string{"", "d", "ad"}},
		{`root ::= [^a-c]`, []string{"d", "é", "😀", "\n"}, []string{"a", "", "dd"}},
		{`root ::= .`, []string{"x", "é", "😀"}, []string{"", "xy", "\xff", "\xe9"}},
		{`root ::= "a"{2,3}`, []string{"aa", "aaa"}, []string{"a", "aaaa"}},
		{`root ::= "ab"{2,}`, []string{"abab", "ababab"}, []string{"ab", "aba"}},
		{`root ::= "a"{,2} "b"`, []string{"b", "ab", "aab"}, []string{"aaab"}},
		{`root ::= "a"{0} "b"`, []string{"b"}, []string{"ab"}},
		{`root ::= ("x" | "yz")? "!"`, []string{"!", "x!", "yz!"}, []string{"y!", "xyz!"}},
		{"root ::= a\na ::= \"(\" a \")\" | \"\"", []string{"", "()", "((()))"}, []string{"(", "())"}},
		{`root ::= "é" [ぁ-ゟ] "\U0001F600"`, []string{"éぁ😀"}, []string{"eぁ😀"}},
		{`root ::= [\x00-\x7F]*`, []string{"", "hello\n"}, []string{"héllo"}},
		{`root ::= [\uD800-\uDFFF]`, nil, []string{"\xed\xa0\x80"}},
		{`root ::= ""`, []string{""}, []string{"a"}},
		{jsonGBNF, []string{`{}`, `{"a": 1}`, `{"a":[1,2.5e3,"x\"y",{"b":null}], "c": true}`, "{\n  \"k\": \"\u00e9\\u00e9\"}"},
			[]string{`{`, `{"a"}`, `[1]`, `{"a": 01}`, `{"a": "x` + "\n" + `"}`}},
		{schemaGBNF, []string{`{"name": "Al", "age": 42, "tags": ["x", "y"]}`, `{"name":"","age":-1,"tags":[]}`},
			[]string{`{"age": 42, "name": "Al", "tags": []}`, `{"name": "Al", "age": 4.2, "tags": []}`}},
	} {
		g := mustParse(t, tc.src)
		for _, s := range tc.accept {
			if !g.Accepts(s) {
				t.Errorf("grammar %q rejects %q", tc.src, s)
			}
		}
		for _, s := range tc.reject {
			if g.Accepts(s) {
				t.Errorf("grammar %q accepts %q", tc.src, s)
			}
		}
	}
}

// TestRebaseKeepsTheState drops a machine's caches at every byte of
// texts (inside characters too) and checks that matching goes on as if
// nothing happened.
func TestRebaseKeepsTheState(t *testing.T) {
	g := mustParse(t, jsonGBNF)
	for _, s := range []string{`{"a": "éぁ😀", "b": [1, "x€"]}`, `{"é": 1`, `{"a": "\u00e9"}`, `{"a": "é"x}`} {
		want := g.Accepts(s)
		for cut := range len(s) + 1 {
			m := newMachine(g)
			st := m.start
			for i := 0; i < len(s) && st >= 0; i++ {
				if i == cut {
					st = m.rebase(st)
				}
				st = m.next(st, s[i])
			}
			if got := st >= 0 && m.states[st].canEnd; got != want {
				t.Errorf("%q with caches dropped at byte %d: accepted %v, want %v", s, cut, got, want)
			}
		}
	}
}

// TestRebaseKeepsMembers checks that a state partway through a character
// names the same stacks, by their grammar positions, after a rebase.
func TestRebaseKeepsMembers(t *testing.T) {
	g := mustParse(t, `root ::= ("x" [é-ë] | "x" [^a] | "x" "y" | "x" [à-ÿ] "z")+`)
	m := newMachine(g)
	st := m.next(m.next(m.start, 'x'), 0xE4)
	if st < 0 || m.states[st].length != 0 {
		t.Fatalf("no determined partial state (%d)", st)
	}
	paths := func(s int32) map[string]bool {
		out := map[string]bool{}
		for i, id := range m.states[s].stacks {
			var key []byte
			for ; id != 0; id = m.nodes[id].next {
				key = fmt.Appendf(key, "%d,", m.nodes[id].pos)
			}
			out[string(key)] = m.states[s].members&(1<<i) != 0
		}
		return out
	}
	before := paths(st)
	st = m.rebase(st)
	if after := paths(st); !maps.Equal(before, after) {
		t.Fatalf("members by path: before %v, after %v", before, after)
	}
}
