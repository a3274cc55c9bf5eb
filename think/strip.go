package think

import "strings"

const (
	openTag  = "<think>"
	closeTag = "</think>"
)

// Strip removes thinking from s exactly as the seed's strip_thinking_blocks
// does: it repeatedly deletes the first <think> through the next </think>,
// cuts s at a <think> that has no closing tag, deletes every remaining
// bare </think>, and trims white space.
func Strip(s string) string {
	for {
		start := strings.Index(s, openTag)
		if start < 0 {
			break
		}
		end := strings.Index(s[start:], closeTag)
		if end < 0 {
			s = s[:start]
			break
		}
		s = s[:start] + s[start+end+len(closeTag):]
	}
	return strings.TrimSpace(strings.ReplaceAll(s, closeTag, ""))
}
