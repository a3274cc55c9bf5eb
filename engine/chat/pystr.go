package chat

import (
	"strings"
	"unicode"
)

// Python's str methods, as the official templates call them. They differ
// from Go's strings package in what counts as whitespace.

// pyIsSpace reports whether Python's str.isspace() holds for r. Python
// also counts the ASCII information separators U+001C..U+001F, which Go's
// unicode.IsSpace does not.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F)
}

// pyStrip is Python's str.strip() with no argument (and Jinja's trim).
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyLStrip is Python's str.lstrip() with no argument.
func pyLStrip(s string) string { return strings.TrimLeftFunc(s, pyIsSpace) }

// pyRStrip is Python's str.rstrip() with no argument.
func pyRStrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }
