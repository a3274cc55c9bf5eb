package grammar

import "testing"

func TestCompose(t *testing.T) {
	// Two grammars with rules of the same names, literals and classes
	// that hold rule-like words, and counts that look like names.
	a := `root ::= "{" item{1,2} "}"
item ::= "item" [a-z] # item root
`
	b := `root ::= item | "[" root "]"
item ::= "x"{2} "root"`
	g, err := Compose(`"<" (a | b) ">"`, map[string]string{"a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"<{itemaitemb}>": true, "<{itemz}>": true, "<xxroot>": true, "<[[xxroot]]>": true,
		"<{}>": false, "<{itemaitembitemc}>": false, "<xroot>": false, "<itema>": false, "{itema}": false,
	} {
		if got := g.Accepts(s); got != want {
			t.Errorf("Accepts(%q) = %v, want %v", s, got, want)
		}
	}
	for _, bad := range []string{"root", "", "a b"} {
		if _, err := Compose(`"x"`, map[string]string{bad: a}); err == nil {
			t.Errorf("part named %q accepted", bad)
		}
	}
}

func FuzzCompose(f *testing.F) {
	f.Add(`root ::= "a" r{1,3}` + "\nr ::= [b-c] # c\n")
	f.Add(`root ::= "\"" ([^"\\] | "\\" .)* "\""`)
	f.Fuzz(func(t *testing.T, src string) {
		g, err := Parse(src)
		if err != nil {
			return
		}
		c, err := Compose(`"<" p ">"`, map[string]string{"p": src})
		if err != nil {
			t.Fatalf("a grammar that parses does not compose: %v\n%s", err, src)
		}
		for _, s := range []string{"", "a", "ab", "\"x\""} {
			if g.Accepts(s) != c.Accepts("<"+s+">") {
				t.Fatalf("%q: the composed grammar disagrees with\n%s", s, src)
			}
		}
	})
}

func TestAcceptBytes(t *testing.T) {
	g, err := Parse(`root ::= "ab" [0-9]`)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVocab([][]byte{[]byte("a"), []byte("b"), []byte("7")}, nil)
	m := g.NewMatcher(v)
	if err := m.AcceptBytes([]byte("ax")); err == nil {
		t.Fatal("AcceptBytes took text the grammar refuses")
	}
	// A refusal leaves the matcher where it was.
	if err := m.AcceptBytes([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if err := m.Accept(2); err != nil || !m.Done() {
		t.Errorf("after ab and 7: %v, done %v", err, m.Done())
	}
}
