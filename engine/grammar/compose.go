package grammar

import (
	"fmt"
	"strings"
)

// Compose builds one grammar from a root expression and named grammars
// that the expression refers to by name: each named grammar's rules are
// renamed apart (its root becomes the rule called by its name, its other
// rules name-rule), so that grammars compiled separately — the JSON
// Schemas of several tools' arguments — can be put side by side without
// their rule names meeting. root is the right-hand side of the composed
// root rule, in GBNF.
func Compose(root string, parts map[string]string) (*Grammar, error) {
	var b strings.Builder
	b.WriteString("root ::= ")
	b.WriteString(root)
	b.WriteString("\n")
	for name, src := range parts {
		if name == "" || name == "root" || !isName(name) {
			return nil, fmt.Errorf("grammar: compose: %q is not a usable rule name", name)
		}
		b.WriteString(renameRules(src, name))
		b.WriteString("\n")
	}
	return Parse(b.String())
}

func isName(s string) bool {
	for i := range len(s) {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// renameRules renames every rule of src: root becomes name, any other
// rule r becomes name-r. It leaves literals, classes, repetition counts
// and comments alone, and is as lenient as a copy: what it cannot read
// it passes on for Parse to report.
func renameRules(src, name string) string {
	var b strings.Builder
	b.Grow(len(src) + len(src)/4)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '[':
			end := closing(src, i)
			b.WriteString(src[i:end])
			i = end
		case c == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				end = len(src) - i - 1
			}
			b.WriteString(src[i : i+end+1])
			i += end + 1
		case c == '#':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			b.WriteString(src[i : i+end])
			i += end
		case isNameByte(c):
			j := i
			for j < len(src) && isNameByte(src[j]) {
				j++
			}
			if word := src[i:j]; word == "root" {
				b.WriteString(name)
			} else {
				b.WriteString(name + "-" + word)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// closing returns the index just past the literal or class that opens at
// src[i], skipping escaped characters.
func closing(src string, i int) int {
	end := byte('"')
	if src[i] == '[' {
		end = ']'
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case end:
			return j + 1
		}
	}
	return len(src)
}
