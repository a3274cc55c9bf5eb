package grammar

import (
	"bytes"
	"testing"
)

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

// FuzzMatcher steps a matcher of a fuzzed grammar through a small
// vocabulary with tokens that split characters, choosing tokens by the
// fuzzed script, and checks that the mask agrees with Accept and that
// every text the matcher completes is a sentence of the grammar.
func FuzzMatcher(f *testing.F) {
	f.Add(jsonGBNF, []byte{0, 5, 9, 200, 3, 3, 7, 1})
	f.Add(schemaGBNF, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(`root ::= [à-ÿ]+ "€"? .`, []byte{7, 7, 7, 7})
	f.Add(`root ::= "a"{2,4} ("b" | [^a-c])*`, []byte{0, 1, 2})
	toks := [][]byte{nil, []byte("<eog>")}
	for _, s := range []string{"a", "b", "c", "ab", "\"", "{", "}", "[", "]", ":", ",", " ", "\n", "1", "0", "-", ".", "e",
		"true", "null", `{"`, `":`, `\`, "u", "é", "\xc3", "\xa9", "\xe2\x82", "\xac", "€", "\xf0", "\x9f\x98", "\x80", "\xff", "x", "name", "age"} {
		toks = append(toks, []byte(s))
	}
	v := NewVocab(toks, []int32{1})
	f.Fuzz(func(t *testing.T, src string, script []byte) {
		g, err := Parse(src)
		if err != nil || len(script) > 200 {
			return
		}
		mt := g.NewMatcher(v)
		mask := make([]uint64, v.MaskWords())
		var text []byte
		for _, pick := range script {
			mt.Allowed(mask)
			var allowed []int32
			for id := range int32(v.Len()) {
				in := mask[id/64]&(1<<(id%64)) != 0
				if in {
					allowed = append(allowed, id)
				}
				if id != 1 && !mt.ended {
					// Accept on a token the mask refuses must fail, and
					// on one it allows must succeed.
					s := mt.state
					ok := true
					for _, b := range v.tokens[id] {
						if s = mt.m.next(s, b); s < 0 {
							ok = false
							break
						}
					}
					if ok != in && len(v.tokens[id]) > 0 {
						t.Fatalf("token %q: mask %v, bytes %v", v.tokens[id], in, ok)
					}
				}
			}
			if len(allowed) == 0 {
				break // ended, or the grammar needs a character no token spells
			}
			id := allowed[int(pick)%len(allowed)]
			if err := mt.Accept(id); err != nil {
				t.Fatalf("allowed token %q refused: %v", v.tokens[id], err)
			}
			if id == 1 {
				if !g.Accepts(string(text)) {
					t.Fatalf("ended on %q, which the grammar rejects", text)
				}
				break
			}
			text = append(text, v.tokens[id]...)
		}
	})
}

// FuzzVocab builds vocabularies of fuzzed tokens (split at 0x00) and
// checks every mask along a walk against the tokens' bytes.
func FuzzVocab(f *testing.F) {
	f.Add([]byte("{\x00\"\x00a\x00ab\x00\"}\x00\xc3\x00\xa9\x00é\x00 \x00"), uint8(3))
	f.Add([]byte("\xff\x00\xe2\x82\x00\xac\x00\x00\x00{\"a\":1}"), uint8(1))
	g, err := Parse(jsonGBNF)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, eogAt uint8) {
		toks := bytes.Split(data, []byte{0})
		if len(toks) > 300 {
			return
		}
		v := NewVocab(toks, []int32{int32(eogAt), -5, 1 << 20})
		mt := g.NewMatcher(v)
		mask := make([]uint64, v.MaskWords())
		for range 20 {
			mt.Allowed(mask)
			next := int32(-1)
			for id := range int32(v.Len()) {
				in := mask[id/64]&(1<<(id%64)) != 0
				if v.isEOG[id] {
					if in != mt.CanEnd() {
						t.Fatalf("end token allowed %v, CanEnd %v", in, mt.CanEnd())
					}
					continue
				}
				s, ok := mt.state, len(v.tokens[id]) > 0
				for _, b := range v.tokens[id] {
					if s = mt.m.next(s, b); s < 0 {
						ok = false
						break
					}
				}
				if ok != in {
					t.Fatalf("token %q: mask %v, bytes %v", v.tokens[id], in, ok)
				}
				if in && next < 0 {
					next = id
				}
			}
			if next < 0 {
				return
			}
			if err := mt.Accept(next); err != nil {
				t.Fatal(err)
			}
		}
	})
}
