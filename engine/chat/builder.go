package chat

import "strings"

// builder accumulates a prompt, keeping apart what the template wrote
// from what the conversation supplied.
type builder struct {
	b     strings.Builder
	spans []Span
}

// lit writes template text.
func (w *builder) lit(s string) { w.b.WriteString(s) }

// text writes conversation text, recording its span.
func (w *builder) text(s string) {
	if s == "" {
		return
	}
	start := w.b.Len()
	w.b.WriteString(s)
	if n := len(w.spans); n > 0 && w.spans[n-1].End == start {
		w.spans[n-1].End = w.b.Len()
		return
	}
	w.spans = append(w.spans, Span{Start: start, End: w.b.Len()})
}

func (w *builder) prompt(thinking Thinking) Prompt {
	return Prompt{Text: w.b.String(), Content: w.spans, Thinking: thinking}
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }
