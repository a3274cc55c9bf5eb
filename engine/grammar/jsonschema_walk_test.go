package grammar

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// schemaByteVocab is a toy vocabulary: token i < 256 is the byte i, token 256
// ends the generation.
func schemaByteVocab() *Vocab {
	tokens := make([][]byte, 257)
	for i := range 256 {
		tokens[i] = []byte{byte(i)}
	}
	return NewVocab(tokens, []int32{256})
}

// closers are the bytes a biased walk prefers, so that it finishes: they
// end strings, containers and literals, and complete common patterns and
// formats.
const closers = `"]}0el.-:@T`

// randomWalk generates one text through the matcher: each step it takes a
// random allowed token, preferring the bytes of prefer more and more as it
// goes, and
// it stops with some chance wherever the grammar may end. It reports false
// if the grammar left it with nothing allowed before an end.
func randomWalk(t *testing.T, g *Grammar, v *Vocab, rng *rand.Rand, prefer string) (string, bool) {
	m := g.NewMatcher(v)
	mask := make([]uint64, v.MaskWords())
	var out []byte
	for step := 0; step < 100_000; step++ {
		if m.CanEnd() && (rng.IntN(4) == 0 || m.Done()) {
			if err := m.Accept(256); err != nil {
				t.Fatalf("end of generation refused where the grammar can end: %v", err)
			}
			return string(out), true
		}
		m.Allowed(mask)
		var allowed, preferred []int32
		for id := int32(0); id < 256; id++ {
			if mask[id/64]&(1<<(id%64)) != 0 {
				allowed = append(allowed, id)
				if strings.IndexByte(prefer, byte(id)) >= 0 {
					preferred = append(preferred, id)
				}
			}
		}
		if len(allowed) == 0 {
			return string(out), false
		}
		pick := allowed
		if len(preferred) > 0 && rng.IntN(100) < min(95, step) {
			pick = preferred
		}
		id := pick[rng.IntN(len(pick))]
		if err := m.Accept(id); err != nil {
			t.Fatalf("an allowed token was refused after %q: %v", out, err)
		}
		out = append(out, byte(id))
	}
	t.Errorf("walk did not end after 100000 bytes: %q...", out[:200])
	return string(out), false
}

// TestSchemaRandomWalks is the property that matters: whatever path a model
// takes through the grammar, what it writes is JSON the schema accepts.
func TestSchemaRandomWalks(t *testing.T) {
	v := schemaByteVocab()
	walks := 40
	if testing.Short() {
		walks = 5
	}
	for ci, tc := range schemaCases {
		t.Run(tc.name, func(t *testing.T) {
			g := compileCase(t, tc)
			sch := schemaValidator(t, tc.schema)
			rng := rand.New(rand.NewPCG(uint64(ci), 1))
			for range walks {
				s, ok := randomWalk(t, g, v, rng, closers+tc.walkBias)
				if !ok {
					t.Fatalf("the grammar allows nothing after %q", s)
				}
				if !utf8.ValidString(s) {
					t.Fatalf("not UTF-8: %q", s)
				}
				if !json.Valid([]byte(s)) {
					t.Fatalf("not JSON: %q", s)
				}
				if !g.Accepts(s) {
					t.Fatalf("Accepts disagrees with the matcher on %q", s)
				}
				if err := validateInstance(sch, s); err != nil {
					t.Fatalf("%q does not validate: %v", s, err)
				}
			}
		})
	}
}

// TestSchemaWhitespaceIsBounded walks a grammar choosing whitespace
// whenever it can: the walk must still end, with no run of whitespace
// longer than a newline and 20 indentation characters.
func TestSchemaWhitespaceIsBounded(t *testing.T) {
	g, err := FromJSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}},"required":["a"]}`), SchemaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := schemaByteVocab()
	m := g.NewMatcher(v)
	mask := make([]uint64, v.MaskWords())
	var out []byte
	// Prefer whitespace, then the text of {"a":[1,2]}.
	script := []byte(`{"a":[1,2]}`)
	for len(script) > 0 {
		m.Allowed(mask)
		took := false
		for _, b := range []byte("\n\t ") {
			if mask[b/64]&(1<<(b%64)) != 0 {
				if err := m.Accept(int32(b)); err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
				took = true
				break
			}
		}
		if took {
			if len(out) > 10_000 {
				t.Fatal("whitespace without end")
			}
			continue
		}
		if err := m.Accept(int32(script[0])); err != nil {
			t.Fatalf("after %q: %v", out, err)
		}
		out = append(out, script[0])
		script = script[1:]
	}
	if !m.CanEnd() {
		t.Fatalf("cannot end after %q", out)
	}
	longest, run := 0, 0
	for _, b := range out {
		if b == ' ' || b == '\n' || b == '\t' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest != 21 {
		t.Errorf("longest whitespace run %d, want 21 (a newline and 20 more): %q", longest, out)
	}
	if !json.Valid(out) {
		t.Errorf("not JSON: %q", out)
	}
}
