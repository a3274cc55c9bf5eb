package grammar

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestAmbiguityIsBounded checks the grammars that make the matcher hold
// many stacks at once: past the limit Parse refuses them; within it they
// work.
func TestAmbiguityIsBounded(t *testing.T) {
	for _, src := range []string{`root ::= ("a"?){10000}`, `root ::= (("a"?){100}){100}`} {
		if _, err := Parse(src); !errors.Is(err, ErrLimit) {
			t.Errorf("Parse(%q) = %v, want a limit error", src, err)
		}
	}
	g := mustParse(t, `root ::= ("a"?){1000}`)
	if !g.Accepts(strings.Repeat("a", 1000)) || g.Accepts(strings.Repeat("a", 1001)) {
		t.Error(`("a"?){1000} does not accept exactly up to 1000 a's`)
	}
	var enum []string
	for i := range 1000 {
		enum = append(enum, fmt.Sprintf(`"\"v%d\""`, i))
	}
	g = mustParse(t, "root ::= "+strings.Join(enum, " | "))
	if !g.Accepts(`"v999"`) || g.Accepts(`"v1000"`) {
		t.Error("the enum grammar is wrong")
	}
	v, _, _ := byteVocab()
	mt := g.NewMatcher(v)
	if got := allowedIDs(mt); len(got) != 1 || got[0] != '"' {
		t.Errorf("enum allows %v first", got)
	}
}
