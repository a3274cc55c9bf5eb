package grammar_test

import (
	"fmt"

	"github.com/tetherllm/tether/engine/grammar"
)

func Example() {
	g, err := grammar.Parse(`
root   ::= "{\"ok\": " bool "}"
bool   ::= "true" | "false"
`)
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Accepts(`{"ok": true}`), g.Accepts(`{"ok": maybe}`))

	// A vocabulary of five tokens; the last ends the generation.
	v := grammar.NewVocab([][]byte{[]byte(`{"ok": `), []byte("t"), []byte("rue}"), []byte("false}"), nil}, []int32{4})
	m := g.NewMatcher(v)
	for _, id := range []int32{0, 1, 2} {
		mask := make([]uint64, v.MaskWords())
		m.Allowed(mask)
		fmt.Printf("allowed %05b, take %d\n", mask[0], id)
		if err := m.Accept(id); err != nil {
			panic(err)
		}
	}
	fmt.Println("can end:", m.CanEnd(), "done:", m.Done())
	// Output:
	// true false
	// allowed 00001, take 0
	// allowed 01010, take 1
	// allowed 00100, take 2
	// can end: true done: true
}
