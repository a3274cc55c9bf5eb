package grammar

import (
	"fmt"
	"strings"
	"testing"
)

// TestLongRuleChain parses and matches a chain of 20000 rules, each
// needing the next: the checks and the matcher must stay linear in it.
func TestLongRuleChain(t *testing.T) {
	const n = 20000
	var b strings.Builder
	b.WriteString("root ::= r0\n")
	for i := range n - 1 {
		fmt.Fprintf(&b, "r%d ::= r%d \"a\"\n", i, i+1)
	}
	fmt.Fprintf(&b, "r%d ::= \"a\"\n", n-1)
	g := mustParse(t, b.String())
	if !g.Accepts(strings.Repeat("a", n)) || g.Accepts(strings.Repeat("a", n-1)) {
		t.Fatal("the chain does not match exactly n a's")
	}
}
