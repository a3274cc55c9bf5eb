package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/grammar"
	"github.com/tetherllm/tether/engine/sample"
)

// personGBNF is a JSON object with fixed keys whose every part is
// bounded, so that a random walk always reaches its end.
const personGBNF = `
root ::= "{" ws "\"name\":" ws str "," ws "\"age\":" ws num "," ws "\"tags\":" ws "[" ws (str ("," ws str){0,3})? "]" ws "}"
str  ::= "\"" ([a-zA-Z0-9 é] | "\\\"" ){0,10} "\""
num  ::= "-"? [1-9] [0-9]{0,5}
ws   ::= " "?
`

func mustGrammar(t *testing.T, src string) *grammar.Grammar {
	t.Helper()
	g, err := grammar.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGrammarConstrainsSampling samples at temperature 1 from the random
// test model, which left alone writes noise, and checks that every
// output is a sentence of the grammar and valid JSON of its shape.
func TestGrammarConstrainsSampling(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 512})
	g := mustGrammar(t, personGBNF)
	for seed := range int64(40) {
		p := sample.Params{Temperature: 1, Seed: seed}
		r := complete(t, e, Request{Text: prompt, Sampling: p, MaxTokens: 300, Grammar: g})
		if r.Summary.Reason != StopEOG {
			t.Fatalf("seed %d: ended by %q after %q", seed, r.Summary.Reason, r.Text)
		}
		if !g.Accepts(r.Text) {
			t.Fatalf("seed %d: grammar rejects %q", seed, r.Text)
		}
		var v struct {
			Name *string
			Age  *int
			Tags []string
		}
		if err := json.Unmarshal([]byte(r.Text), &v); err != nil || v.Name == nil || v.Age == nil {
			t.Fatalf("seed %d: %q: %v", seed, r.Text, err)
		}
	}
	// The same model unconstrained does not write JSON.
	r := complete(t, e, Request{Text: prompt, Sampling: sample.Params{Temperature: 1, Seed: 1}, MaxTokens: 40, IgnoreEOG: true})
	if json.Valid([]byte(r.Text)) {
		t.Fatalf("unconstrained output %q is JSON: the test proves nothing", r.Text)
	}
}

// TestGrammarEndOfGeneration checks that end-of-generation tokens are
// sampled only where the grammar can end: a strong bias toward the end
// token ends the text as soon as the grammar allows, and not before.
func TestGrammarEndOfGeneration(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 512})
	g := mustGrammar(t, `root ::= "ab" [a-z]*`)
	eog := e.Tokenizer().EOGTokens()
	bias := map[int32]float32{}
	for _, id := range eog {
		bias[id] = 1000
	}
	for _, ignore := range []bool{false, true} {
		r := complete(t, e, Request{Text: prompt, Sampling: sample.Params{LogitBias: bias}, MaxTokens: 20, Grammar: g, IgnoreEOG: ignore})
		if r.Text != "ab" || r.Summary.Reason != StopEOG {
			t.Errorf("IgnoreEOG %v: got %q, %q; want \"ab\" ended by the end of generation", ignore, r.Text, r.Summary.Reason)
		}
	}
	// Stop strings and MaxTokens still cut the text short.
	r := complete(t, e, Request{Text: prompt, Sampling: sample.Params{Temperature: 1, Seed: 3}, MaxTokens: 2, Grammar: mustGrammar(t, personGBNF)})
	if r.Summary.Reason != StopMaxTokens || !strings.HasPrefix(r.Text, "{") {
		t.Errorf("MaxTokens 2: %q, %q", r.Text, r.Summary.Reason)
	}
}

// TestGrammarDoneEndsGeneration: a grammar with nothing left to match
// ends the generation without waiting for an end token.
func TestGrammarDoneEndsGeneration(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 512})
	g := mustGrammar(t, `root ::= "yes" | "no"`)
	for seed := range int64(10) {
		r := complete(t, e, Request{Text: prompt, Sampling: sample.Params{Temperature: 1, Seed: seed}, MaxTokens: 20, Grammar: g})
		if (r.Text != "yes" && r.Text != "no") || r.Summary.Reason != StopEOG {
			t.Fatalf("seed %d: %q, %q", seed, r.Text, r.Summary.Reason)
		}
	}
}

// TestConstrainedDecodeLoopDoesNotAllocate is TestDecodeLoopDoesNotAllocate
// under a grammar: the matcher allocates as it meets new states, and a
// long run in one state (here, a string of letters) allocates nothing a
// token.
func TestConstrainedDecodeLoopDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	e := load(t, tinyLlama(), Options{ContextLength: 1024, Threads: 2})
	// Letters and spaces for ever: the grammar can always end, but the
	// end tokens are biased away.
	g := mustGrammar(t, `root ::= [a-z ]*`)
	bias := map[int32]float32{}
	for _, id := range e.Tokenizer().EOGTokens() {
		bias[id] = -1000
	}
	req := Request{Text: prompt, Grammar: g, Sampling: sample.Params{LogitBias: bias}}
	if perToken, desc := allocationsPerToken(t, e, req); perToken > maxAllocationsPerToken {
		t.Errorf("constrained decoding allocated %.2f times per token (%s)", perToken, desc)
	}
}

// TestLazyGrammar: a grammar with a trigger leaves sampling free until
// the text holds the trigger, then constrains what follows it; without
// the trigger the generation is what it is unconstrained.
func TestLazyGrammar(t *testing.T) {
	e := load(t, tinyQwen2(), Options{ContextLength: 512})
	g := mustGrammar(t, `root ::= "[" [0-9]{3} "]"`)
	free := complete(t, e, Request{Text: prompt, MaxTokens: 8, IgnoreEOG: true})
	var trigger string
	var tok int32 = -1
	for id := range int32(e.Tokenizer().NumTokens()) {
		if p := e.Tokenizer().Piece(id, false); len(p) >= 2 && !strings.Contains(free.Text, p) && !e.Tokenizer().IsEOG(id) {
			trigger, tok = p, id
			break
		}
	}
	if tok < 0 {
		t.Fatal("no token to trigger with")
	}
	lazy := complete(t, e, Request{Text: prompt, MaxTokens: 8, IgnoreEOG: true, Grammar: g, GrammarTrigger: trigger})
	if lazy.Text != free.Text {
		t.Errorf("without the trigger: %q, unconstrained %q", lazy.Text, free.Text)
	}
	for seed := range int64(8) {
		// The bias makes the model write the trigger first; after it only
		// the grammar's text can follow.
		p := sample.Params{Temperature: 1, Seed: seed, LogitBias: map[int32]float32{tok: 30}}
		r := complete(t, e, Request{Text: prompt, Sampling: p, MaxTokens: 20, Grammar: g, GrammarTrigger: trigger})
		rest, ok := strings.CutPrefix(r.Text, trigger)
		if !ok || !g.Accepts(rest) || r.Summary.Reason != StopEOG {
			t.Fatalf("seed %d: %q (%s), want %q and then the grammar's text", seed, r.Text, r.Summary.Reason, trigger)
		}
	}
}
