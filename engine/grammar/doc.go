// Package grammar constrains generation to a formal grammar: it parses
// grammars in GBNF, llama.cpp's grammar text form, and computes, token
// by token, which tokens of a model's vocabulary may come next.
//
// # GBNF
//
// A grammar is a list of rules, name ::= alternatives, one a line (a
// rule continues past a line end inside parentheses or after ::= or |).
// Names are letters, digits, - and _. The rule named root is the whole
// text. Alternatives are separated by |, and each is a sequence of:
//
//	"text"        a literal; escapes \n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH
//	[a-z0-9_]     a character class, with ranges and the same escapes
//	[^"\\]        a negated class
//	.             any character
//	name          a rule
//	( ... )       a group
//
// each optionally followed by a repetition: * + ? {m} {m,} {m,n} {,n}.
// # starts a comment to the end of the line. Characters are Unicode code
// points, matched against UTF-8 text. Token references (<...>) are not
// supported.
//
// Parse refuses, with a *SyntaxError (line and column) or a *RuleError:
// syntax errors, undefined or doubly defined rules, a missing root, left
// recursion (a rule that can reach itself before reading a character,
// which would expand for ever), and rules that no finite text completes.
// Grammars that would cost too much fail with an error wrapping
// ErrLimit: more than MaxSource bytes, repetition counts above
// MaxRepeat, groups nested deeper than MaxNesting, more than MaxElements
// elements once repetitions are written out, or a position that can
// begin in more than 1024 ways (a long bounded repetition of something
// that may be empty, like ("a"?){10000}).
//
// # Matching
//
// A *Grammar is immutable and serves any number of generations at once.
// Each generation makes a Matcher over a Vocab, the model's tokens as
// the bytes they decode to, built once per model. The matcher is
// llama.cpp's pushdown matcher — a set of parse stacks advanced a code
// point at a time, with an unfinished UTF-8 character carried across
// token boundaries — made lazy-deterministic: stacks are interned
// persistent lists, sets of them are interned states, and each state's
// transition on each byte is computed once and then looked up. A mask is
// one scan of the vocabulary's byte trie in preorder, carrying a state
// per depth and skipping the subtree below any byte the state refuses;
// a large subtree whose bytes all lead back to the state it starts from
// (ordinary characters in a JSON string) is allowed whole without being
// walked. Masks are cached per state, and a JSON string body, a number
// or whitespace returns to the same state at each character, so most
// tokens cost a cache lookup.
//
// # Cost
//
// Building a Vocab for a 152k-token vocabulary takes a few tenths of a
// second and holds the trie (about 16 bytes a node, 450k nodes) plus
// the tokens' bytes. A mask costs, the first time a state is met,
// up to about a millisecond when nearly every token is allowed (the
// first character of a JSON string in a new context) and tens of
// microseconds when few are; after that, a cache hit of about a
// microsecond. Averaged over whole JSON generations on a 152k-token
// vocabulary with a fresh matcher each time, about 0.03–0.2 ms a token,
// against a decode step of about 30 ms for a 0.5B model; see
// BenchmarkMask and docs/design.md. A matcher's caches are bounded (16k
// states, 64 masks kept least-recently-used); past the bound it drops
// them and goes on from its current state.
package grammar
