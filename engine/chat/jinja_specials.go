package chat

import (
	"regexp"
	"strconv"
	"strings"
)

// A template rendered by the Jinja engine mixes its own text with the
// conversation's, and nothing in gonja tells them apart. Yet a user's
// "<|im_start|>system" must reach the model as text, not as a turn (prompt
// injection), as the hand-written renderers ensure with content spans.
//
// So before a render, every piece of conversation text that looks like a
// control token is swapped for a placeholder (private-use characters
// around its index), which the template carries through like any other
// text; after it, the placeholders are swapped back and reported as
// content spans, which the tokenizer encodes as plain text. A template's
// own control tokens never pass through a placeholder. A side effect is
// that a template's logic cannot see control-token text in the
// conversation either (which is as it should be: a user's text must not
// steer the template).

// controlTokenText matches text that tokenizers commonly hold as control
// tokens: <|…|> (ChatML, Llama 3, Phi), <｜…｜> (DeepSeek), <s> and </s>,
// Gemma's turn markers, Mistral's [INST]-style markers, and the
// placeholders' own characters (so that text cannot forge a placeholder).
// None holds a character that printers escape (quotes, backslashes,
// control characters) or replace (invalid UTF-8, which Go's regexp reads
// as U+FFFD and tojson prints as U+FFFD): the placeholder would print
// unchanged where the text it stands for would not. No tokenizer's
// control token holds U+FFFD.
const controlTokenText = `<\|[^\s|<>"'\\\x00-\x1f\x7f\x{FFFD}]{0,64}\|>|<｜[^\s｜"'\\\x00-\x1f\x7f\x{FFFD}]{0,64}｜>|</?s>|<(?:start|end)_of_turn>|<(?:bos|eos|pad|unk|mask)>` +
	`|\[/?(?:INST|SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_RESULTS|TOOL_CALLS|TOOL_CONTENT)\]` +
	`|` + placeholderOpen + `|` + placeholderClose

const (
	placeholderOpen  = "\uE000"
	placeholderClose = "\uE001"
)

// controlText finds control-token text for one template: the common
// shapes and the tokenizer's own BOS and EOS texts.
type controlText struct {
	re *regexp.Regexp
	// first marks the bytes such text can start with, to pass over text
	// that cannot contain any without running the expression.
	first [256]bool
}

func newControlText(sp Specials, stops []string) *controlText {
	c := &controlText{}
	for _, s := range []string{"<", "[", placeholderOpen, placeholderClose} {
		c.first[s[0]] = true
	}
	alts := []string{controlTokenText}
	for _, s := range append([]string{sp.BOS, sp.EOS}, stops...) {
		if s == "" || strings.ContainsAny(s, "\"'\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			continue
		}
		alts = append(alts, regexp.QuoteMeta(s))
		c.first[s[0]] = true
	}
	c.re = regexp.MustCompile(strings.Join(alts, "|"))
	return c
}

// mayHold reports whether s has a byte that control-token text starts
// with.
func (c *controlText) mayHold(s string) bool {
	for i := 0; i < len(s); i++ {
		if c.first[s[i]] {
			return true
		}
	}
	return false
}

// defuser swaps control-token text for placeholders in one render.
type defuser struct {
	control *controlText
	found   []string
}

// text returns s with its control-token text swapped for placeholders.
func (d *defuser) text(s string) string {
	if d == nil || !d.control.mayHold(s) {
		return s
	}
	return d.control.re.ReplaceAllStringFunc(s, func(m string) string {
		d.found = append(d.found, m)
		return placeholderOpen + strconv.Itoa(len(d.found)-1) + placeholderClose
	})
}

// restore swaps the placeholders in a rendered prompt back, returning the
// prompt and the spans of the text they stood for. A placeholder the
// template cut or altered is left as it is.
func (d *defuser) restore(out string) (string, []Span) {
	if d == nil || len(d.found) == 0 {
		return out, nil
	}
	var b strings.Builder
	b.Grow(len(out))
	var spans []Span
	for {
		i := strings.Index(out, placeholderOpen)
		if i < 0 {
			b.WriteString(out)
			return b.String(), spans
		}
		b.WriteString(out[:i])
		rest := out[i+len(placeholderOpen):]
		j := strings.Index(rest, placeholderClose)
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j <= 0 || err != nil || n < 0 || n >= len(d.found) {
			b.WriteString(placeholderOpen)
			out = rest
			continue
		}
		start := b.Len()
		b.WriteString(d.found[n])
		if k := len(spans); k > 0 && spans[k-1].End == start {
			spans[k-1].End = b.Len()
		} else {
			spans = append(spans, Span{Start: start, End: b.Len()})
		}
		out = rest[j+len(placeholderClose):]
	}
}
