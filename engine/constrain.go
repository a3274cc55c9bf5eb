package engine

import (
	"bytes"
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
// next; an unconstrained generation, or a lazy one before its trigger,
// is left alone.
func (g *generation) constrain(logits []float32) error {
	if g.matcher == nil || g.lazy {
		return nil
	}
	if g.matcher.Apply(logits) == 0 {
		return errGrammarStuck
	}
	return nil
}

// follow advances g's grammar past the sampled token, whose bytes are
// piece, and reports whether the grammar is complete, so that the
// generation ends as if an end-of-generation token had been sampled.
// Under a grammar an end-of-generation token always completes it,
// IgnoreEOG or not; before a lazy grammar's trigger nothing is complete.
func (g *generation) follow(tok int32, piece string) (done bool, err error) {
	if g.matcher == nil {
		return false, nil
	}
	if g.lazy {
		return false, g.watch(piece)
	}
	if err := g.matcher.Accept(tok); err != nil {
		// The mask allowed only tokens Accept takes: this is a bug.
		return false, fmt.Errorf("engine: grammar: %w", err)
	}
	return g.matcher.Done(), nil
}

// watch looks for a lazy grammar's trigger in the text so far and, once
// it is there, starts the grammar with what the token wrote after it.
// If the grammar cannot continue with that, the generation goes on
// unconstrained rather than fail: the model wrote it, and the caller's
// parser judges it.
func (g *generation) watch(piece string) error {
	trigger := g.req.GrammarTrigger
	g.seen = append(g.seen, piece...)
	i := bytes.Index(g.seen, []byte(trigger))
	if i < 0 {
		if keep := len(trigger) - 1; len(g.seen) > keep {
			g.seen = append(g.seen[:0], g.seen[len(g.seen)-keep:]...)
		}
		return nil
	}
	g.lazy = false
	if g.matcher.AcceptBytes(g.seen[i+len(trigger):]) != nil {
		g.matcher = nil
	}
	g.seen = nil
	return nil
}
