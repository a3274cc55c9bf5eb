package grammar

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// byteVocab is every single byte as a token, then extra, then a control
// token (empty) and an end-of-generation token, whose ids it returns.
func byteVocab(extra ...string) (v *Vocab, control, eog int32) {
	var toks [][]byte
	for b := range 256 {
		toks = append(toks, []byte{byte(b)})
	}
	for _, s := range extra {
		toks = append(toks, []byte(s))
	}
	control, eog = int32(len(toks)), int32(len(toks)+1)
	toks = append(toks, nil, []byte("<|eot|>"))
	return NewVocab(toks, []int32{eog}), control, eog
}

func allowedIDs(mt *Matcher) []int32 {
	mask := make([]uint64, mt.v.MaskWords())
	mt.Allowed(mask)
	var ids []int32
	for id := range mt.v.n {
		if mask[id/64]&(1<<(id%64)) != 0 {
			ids = append(ids, int32(id))
		}
	}
	return ids
}

func TestMatcherLiteral(t *testing.T) {
	v, control, eog := byteVocab("ab", "abc", "abcd", "b", "ab")
	g := mustParse(t, `root ::= "abc"`)
	mt := g.NewMatcher(v)
	ab1, abc, ab2 := int32(256), int32(257), int32(260)
	if got, want := allowedIDs(mt), []int32{'a', ab1, abc, ab2}; !slices.Equal(got, want) {
		t.Fatalf("allowed at start = %v, want %v", got, want)
	}
	if mt.CanEnd() || mt.Done() {
		t.Fatal("CanEnd or Done at the start")
	}
	if err := mt.Accept(control); !errors.Is(err, ErrTokenRejected) {
		t.Fatalf("Accept(control) = %v", err)
	}
	if err := mt.Accept(eog); !errors.Is(err, ErrTokenRejected) {
		t.Fatalf("Accept(eog) before the end = %v", err)
	}
	if err := mt.Accept('b'); !errors.Is(err, ErrTokenRejected) {
		t.Fatalf("Accept('b') = %v", err)
	}
	if err := mt.Accept(ab2); err != nil {
		t.Fatal(err)
	}
	if got, want := allowedIDs(mt), []int32{'c'}; !slices.Equal(got, want) {
		t.Fatalf("allowed after ab = %v, want %v", got, want)
	}
	if err := mt.Accept('c'); err != nil {
		t.Fatal(err)
	}
	if !mt.CanEnd() || !mt.Done() {
		t.Fatal("not CanEnd and Done after abc")
	}
	if got, want := allowedIDs(mt), []int32{eog}; !slices.Equal(got, want) {
		t.Fatalf("allowed at the end = %v, want %v", got, want)
	}
	if err := mt.Accept(eog); err != nil {
		t.Fatal(err)
	}
	if got := allowedIDs(mt); len(got) != 0 {
		t.Fatalf("allowed after EOG = %v", got)
	}
	mt.Reset()
	if mt.Done() || len(allowedIDs(mt)) != 4 {
		t.Fatal("Reset did not return to the start")
	}
}

// TestMatcherSplitUTF8 has tokens that end inside a character and tokens
// that begin inside one, as byte-level BPE vocabularies do.
func TestMatcherSplitUTF8(t *testing.T) {
	// é is C3 A9, ぁ is E3 81 81, 😀 is F0 9F 98 80.
	v, _, eog := byteVocab("\xc3", "\xa9x", "\xe3\x81", "\x81\xf0\x9f", "\x98\x80", "é")
	g := mustParse(t, `root ::= "é" "x" "ぁ" [\U0001F600-\U0001F64F]`)
	mt := g.NewMatcher(v)
	c3, a9x, e381, x81f09f, x9880, eAcute := int32(256), int32(257), int32(258), int32(259), int32(260), int32(261)
	if got, want := allowedIDs(mt), []int32{0xC3, c3, eAcute}; !slices.Equal(got, want) {
		t.Fatalf("allowed at start = %v, want %v", got, want)
	}
	for _, id := range []int32{c3, a9x, e381, x81f09f, x9880} {
		if !slices.Contains(allowedIDs(mt), id) {
			t.Fatalf("token %d %q not allowed", id, v.tokens[id])
		}
		if err := mt.Accept(id); err != nil {
			t.Fatal(err)
		}
	}
	if !mt.Done() || !slices.Equal(allowedIDs(mt), []int32{eog}) {
		t.Fatal("not done after the whole text")
	}
}

// TestMatcherPartialViability checks that a token ending inside a
// character is allowed only if some allowed character begins so.
func TestMatcherPartialViability(t *testing.T) {
	v, _, _ := byteVocab()
	mt := mustParse(t, `root ::= [à-ÿ]`).NewMatcher(v) // U+00E0..U+00FF: C3 A0..C3 BF
	if got, want := allowedIDs(mt), []int32{0xC3}; !slices.Equal(got, want) {
		t.Fatalf("allowed = %v, want %v", got, want)
	}
	if err := mt.Accept(0xC3); err != nil {
		t.Fatal(err)
	}
	got := allowedIDs(mt)
	if len(got) != 0x20 || got[0] != 0xA0 || got[len(got)-1] != 0xBF {
		t.Fatalf("allowed after C3 = %v, want A0..BF", got)
	}
	// Overlong forms and surrogates are never allowed, even by ".".
	mt = mustParse(t, `root ::= .`).NewMatcher(v)
	for _, bad := range []int32{0x80, 0xC0, 0xC1, 0xF5, 0xFF} {
		if slices.Contains(allowedIDs(mt), bad) {
			t.Errorf("byte %#x allowed to start a character", bad)
		}
	}
	if err := mt.Accept(0xED); err != nil {
		t.Fatal(err)
	}
	if got := allowedIDs(mt); got[len(got)-1] != 0x9F {
		t.Errorf("after ED allowed up to %#x, want 9F (no surrogates)", got[len(got)-1])
	}
}

func TestMatcherApply(t *testing.T) {
	v, _, eog := byteVocab()
	mt := mustParse(t, `root ::= [0-9]+`).NewMatcher(v)
	logits := make([]float32, v.n+5) // a model may pad its vocabulary
	if n := mt.Apply(logits); n != 10 {
		t.Fatalf("Apply allowed %d tokens, want 10", n)
	}
	for id, l := range logits {
		if allowed := id >= '0' && id <= '9'; allowed != (l == 0) || !allowed && !math.IsInf(float64(l), -1) {
			t.Fatalf("logit %d = %v", id, l)
		}
	}
	mt.Accept('7')
	clear(logits)
	if n := mt.Apply(logits); n != 11 || logits[eog] != 0 {
		t.Fatalf("after a digit: %d allowed, EOG logit %v", n, logits[eog])
	}
}

// jsonishVocab is a byte vocabulary with the multi-byte tokens JSON
// text tends to use, including ones that split UTF-8 characters.
func jsonishVocab() (*Vocab, int32) {
	v, _, eog := byteVocab(`{"`, `":`, `", "`, `"}`, `true`, `false`, `null`, `12`, `0.5`, `e-3`, `, `, `[{`, `}]`,
		"\\n", "\\u00", "é", "\xc3", "\xa9", "\xe2\x82", "\xac", "€", " \"", "\n  ", "na", "me", `"name"`, `"age"`, `"tags"`)
	return v, eog
}

// TestRandomWalksAreAccepted picks random allowed tokens until the
// grammar ends and checks that the text is a sentence of the grammar.
func TestRandomWalksAreAccepted(t *testing.T) {
	v, eog := jsonishVocab()
	for _, tc := range []struct {
		name, src string
		json      bool
	}{
		{"json", jsonGBNF, true},
		{"schema", schemaGBNF, true},
		{"repeats", `root ::= ("ab" | [à-ÿ]{2,3} | "€"+){1,4} ("x" | "")`, false},
	} {
		g := mustParse(t, tc.src)
		mt := g.NewMatcher(v)
		rng := rand.New(rand.NewPCG(1, 2))
		finished := 0
		for walk := range 200 {
			mt.Reset()
			var text []byte
			for step := 0; step < 2000 && !mt.Done(); step++ {
				ids := allowedIDs(mt)
				if len(ids) == 0 {
					t.Fatalf("%s walk %d: no token allowed after %q", tc.name, walk, text)
				}
				// Favour ending, to keep the walks short.
				id := ids[rng.IntN(len(ids))]
				if mt.CanEnd() && rng.IntN(4) == 0 {
					id = eog
				}
				if err := mt.Accept(id); err != nil {
					t.Fatalf("%s walk %d: allowed token %d rejected: %v", tc.name, walk, id, err)
				}
				if id != eog {
					text = append(text, v.tokens[id]...)
				}
			}
			if !mt.Done() {
				continue
			}
			finished++
			if !g.Accepts(string(text)) {
				t.Fatalf("%s walk %d: grammar rejects %q", tc.name, walk, text)
			}
			if tc.json && !json.Valid(text) {
				t.Fatalf("%s walk %d: invalid JSON %q", tc.name, walk, text)
			}
		}
		if finished < 50 {
			t.Errorf("%s: only %d of 200 walks finished", tc.name, finished)
		}
	}
}

// TestMaskMatchesAccept checks the trie walk against Accept token by
// token along random walks, with the mask cache in play.
func TestMaskMatchesAccept(t *testing.T) {
	v, _ := jsonishVocab()
	g := mustParse(t, jsonGBNF)
	mt := g.NewMatcher(v)
	probe := g.NewMatcher(v)
	rng := rand.New(rand.NewPCG(3, 4))
	var prefix []int32
	for step := range 300 {
		ids := allowedIDs(mt)
		for id := range int32(v.n) {
			probe.Reset()
			for _, p := range prefix {
				if err := probe.Accept(p); err != nil {
					t.Fatal(err)
				}
			}
			ok := probe.Accept(id) == nil
			if ok != slices.Contains(ids, id) {
				t.Fatalf("step %d: token %d %q: mask says %v, Accept says %v", step, id, v.tokens[id], !ok, ok)
			}
		}
		var next int32
		for next = ids[rng.IntN(len(ids))]; v.isEOG[next]; next = ids[rng.IntN(len(ids))] {
		}
		if err := mt.Accept(next); err != nil {
			t.Fatal(err)
		}
		prefix = append(prefix, next)
	}
}

func TestVocabTrie(t *testing.T) {
	toks := [][]byte{[]byte("ab"), []byte("a"), nil, []byte("ab"), []byte("b"), []byte("abc"), {}}
	v := NewVocab(toks, []int32{2, 99, -1})
	want := []trieNode{{label: 'a', depth: 1, end: 3, tokLo: 0, below: -1}, {label: 'b', depth: 2, end: 3, tokLo: 1, below: -1},
		{label: 'c', depth: 3, end: 3, tokLo: 3, below: -1}, {label: 'b', depth: 1, end: 4, tokLo: 4, below: -1}, {tokLo: 5, below: -1}}
	if !slices.Equal(v.nodes, want) || !slices.Equal(v.order, []int32{1, 0, 3, 5, 4}) || !slices.Equal(v.eog, []int32{2}) {
		t.Fatalf("trie %+v, order %v, eog %v", v.nodes, v.order, v.eog)
	}
}

// TestConcurrentMatchers shares one Grammar and one Vocab among
// goroutines, each with its own matchers (run it with -race).
func TestConcurrentMatchers(t *testing.T) {
	v, eog := jsonishVocab()
	g := mustParse(t, schemaGBNF)
	done := make(chan string, 4)
	for w := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			mt := g.NewMatcher(v)
			for step := 0; step < 400 && !mt.Done(); step++ {
				ids := allowedIDs(mt)
				id := ids[rng.IntN(len(ids))]
				if err := mt.Accept(id); err != nil {
					done <- err.Error()
					return
				}
				if id == eog {
					break
				}
			}
			g.Accepts(`{"name": "x", "age": 1, "tags": []}`)
			done <- ""
		}()
	}
	for range 4 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

// TestMaskCacheKeepsBusyStates passes through more one-off states than
// the cache holds while coming back to two states between them: no mask
// is computed twice.
func TestMaskCacheKeepsBusyStates(t *testing.T) {
	v, _, _ := byteVocab()
	var codes []string
	for i := range 100 {
		codes = append(codes, fmt.Sprintf(`"%02d!"`, i))
	}
	mt := mustParse(t, `root ::= ("a" | "b" (`+strings.Join(codes, " | ")+`))*`).NewMatcher(v)
	states := map[int32]bool{}
	for i := range 100 {
		for _, b := range []byte(fmt.Sprintf("ab%02d!", i)) {
			allowedIDs(mt)
			states[mt.state] = true
			if err := mt.Accept(int32(b)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(states) <= maskSlots {
		t.Fatalf("only %d states: the test needs more than the cache holds", len(states))
	}
	if mt.walks != len(states) {
		t.Fatalf("%d masks computed for %d states", mt.walks, len(states))
	}
}
