package think

import "strings"

// Split separates s into answer text and reasoning, following the rules
// in the package documentation.
func Split(s string) (text, reasoning string) {
	return split(s, false)
}

// SplitOpen is Split for output that starts inside a reasoning block,
// because the chat template put the opening <think> into the prompt: all
// of s up to the first </think> is reasoning, and all of it if there is
// none.
func SplitOpen(s string) (text, reasoning string) {
	return split(s, true)
}

func split(s string, open bool) (text, reasoning string) {
	var t strings.Builder
	var r reasoningJoiner
	if !open {
		// A closer before any opener: the template opened the block.
		c, o := strings.Index(s, closeTag), strings.Index(s, openTag)
		open = c >= 0 && (o < 0 || c < o)
	}
	for {
		if open {
			end := strings.Index(s, closeTag)
			if end < 0 {
				r.add(s)
				break
			}
			r.add(s[:end])
			s = s[end+len(closeTag):]
			open = false
			continue
		}
		o, c := strings.Index(s, openTag), strings.Index(s, closeTag)
		switch {
		case c >= 0 && (o < 0 || c < o): // a later bare closer: dropped
			t.WriteString(s[:c])
			s = s[c+len(closeTag):]
		case o >= 0:
			t.WriteString(s[:o])
			s = s[o+len(openTag):]
			open = true
		default:
			t.WriteString(s)
			return strings.TrimSpace(t.String()), r.String()
		}
	}
	return strings.TrimSpace(t.String()), r.String()
}

// reasoningJoiner collects reasoning blocks: each trimmed, empty ones
// dropped, joined by a blank line.
type reasoningJoiner struct{ b strings.Builder }

func (j *reasoningJoiner) add(block string) {
	block = strings.TrimSpace(block)
	if block == "" {
		return
	}
	if j.b.Len() > 0 {
		j.b.WriteString(blockSeparator)
	}
	j.b.WriteString(block)
}

func (j *reasoningJoiner) String() string { return j.b.String() }

// blockSeparator joins reasoning blocks.
const blockSeparator = "\n\n"
