package grammar

import (
	"errors"
	"fmt"
)

// Limits on what a grammar may cost, so that a hostile grammar fails
// Parse with a clear error instead of exhausting memory or time.
const (
	// MaxSource bounds the grammar text in bytes.
	MaxSource = 1 << 20
	// MaxElements bounds the compiled grammar: the characters, classes
	// and rule references of every alternative after repetitions are
	// written out.
	MaxElements = 1 << 20
	// MaxRepeat bounds the counts of a {m,n} repetition.
	MaxRepeat = 10000
	// MaxNesting bounds how deeply groups nest.
	MaxNesting = 200
)

// ErrLimit is wrapped by the errors of grammars that exceed a limit.
var ErrLimit = errors.New("grammar exceeds a limit")

// SyntaxError is an error at a place in the grammar text.
type SyntaxError struct {
	Line, Column int // 1-based; Column counts bytes
	Msg          string
	Err          error // ErrLimit for a limit, else nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("grammar: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// RuleError is a grammar that parses but cannot be used: a missing root,
// left recursion, or a rule that can never finish.
type RuleError struct {
	Rule string
	Msg  string
	Err  error // ErrLimit for a limit, else nil
}

func (e *RuleError) Unwrap() error { return e.Err }

func (e *RuleError) Error() string {
	if e.Rule == "" {
		return "grammar: " + e.Msg
	}
	return fmt.Sprintf("grammar: rule %q %s", e.Rule, e.Msg)
}

// Grammar is a compiled GBNF grammar. It is immutable, so one Grammar
// serves any number of concurrent matchers.
type Grammar struct {
	// elems holds every alternative of every rule, each a run of
	// elements ended by an elemEnd, as llama.cpp lays them out.
	elems   []elem
	classes []charClass
	rules   []rule
	root    int32
}

type elemKind uint8

const (
	elemEnd  elemKind = iota // ends an alternative
	elemChar                 // one code point of classes[arg]
	elemRef                  // the rule rules[arg]
)

type elem struct {
	kind elemKind
	arg  int32
}

type rule struct {
	name string
	alts []int32 // each alternative's first element in Grammar.elems
}

// Accepts reports whether the whole of s is a sentence of the grammar.
// Text that is not valid UTF-8 is never accepted.
func (g *Grammar) Accepts(s string) bool {
	m := newMachine(g)
	st := m.start
	for i := 0; i < len(s); i++ {
		if m.oversized() {
			st = m.rebase(st)
		}
		st = m.next(st, s[i])
		if st < 0 {
			return false
		}
	}
	return m.states[st].canEnd
}

// String summarises the grammar's size.
func (g *Grammar) String() string {
	return fmt.Sprintf("grammar(%d rules, %d elements)", len(g.rules), len(g.elems))
}
