package grammar

import "testing"

// FuzzParse checks that any text either parses or fails with an error,
// and that a parsed grammar answers Accepts without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		jsonGBNF, schemaGBNF,
		`root ::= "a"{2,5} [^x-z]* .`,
		"root ::= a\na ::= \"(\" a \")\" | \"\"",
		`root ::= ("x" | "y"){3,} "\u00e9"`,
		`root ::= root "a"`,
		`root ::= "\x`,
	} {
		f.Add(s, `{"a": 1}`)
	}
	f.Fuzz(func(t *testing.T, src, text string) {
		g, err := Parse(src)
		if err != nil {
			if g != nil {
				t.Fatal("Parse returned a grammar and an error")
			}
			return
		}
		g.Accepts(text)
	})
}
