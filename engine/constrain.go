package engine

import (
	"errors"
	"fmt"
	"sync"

	"github.com/tetherllm/tether/engine/grammar"
)

// grammarVocab is the engine's vocabulary as grammar masks need it,
// built on the first constrained request: the trie over 150k tokens
// takes a few tenths of a second and about 15 MB, which unconstrained
// use should not pay.
type grammarVocab struct {
	once sync.Once
	v    *grammar.Vocab
}

// grammarVocab returns the vocabulary for grammar matchers. A token's
// bytes are the text the stream decoder emits for it; control tokens
// have none and are never allowed, except the end-of-generation ones
// where the grammar can end.
func (e *Engine) grammarVocab() *grammar.Vocab {
	e.gvocab.once.Do(func() {
		toks := make([][]byte, e.tok.NumTokens())
		for id := range toks {
			if !e.tok.IsEOG(int32(id)) {
				toks[id] = []byte(e.tok.Piece(int32(id), false))
			}
		}
		e.gvocab.v = grammar.NewVocab(toks, e.tok.EOGTokens())
	})
	return e.gvocab.v
}

// errGrammarStuck ends a constrained generation that no token of the
// vocabulary can continue (the grammar needs a character no token
// spells).
var errGrammarStuck = errors.New("engine: no token of the vocabulary can continue the grammar")

// constrain masks the logits of the tokens g's grammar does not allow
// next; an unconstrained generation is left alone.
func (g *generation) constrain(logits []float32) error {
	if g.matcher == nil {
		return nil
	}
	if g.matcher.Apply(logits) == 0 {
		return errGrammarStuck
	}
	return nil
}

// follow advances g's grammar past the sampled token and reports whether
// the grammar is complete, so that the generation ends as if an
// end-of-generation token had been sampled. Under a grammar an
// end-of-generation token always completes it, IgnoreEOG or not.
func (g *generation) follow(tok int32) (done bool, err error) {
	if g.matcher == nil {
		return false, nil
	}
	if err := g.matcher.Accept(tok); err != nil {
		// The mask allowed only tokens Accept takes: this is a bug.
		return false, fmt.Errorf("engine: grammar: %w", err)
	}
	return g.matcher.Done(), nil
}
