package think

import (
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name, in, text, reasoning string
	}{
		{"seed: bare closer from template", "</think>\n\n4", "4", ""},
		{"seed: block then answer", "<think>reasoning here</think>answer", "answer", "reasoning here"},
		{"seed: block then bare closer", "<think>x</think>y</think>z", "yz", "x"},
		{"seed: multi-line block", "<think>\nLet me think.\nStep 2.\n</think>\n\nAnswer: 42", "Answer: 42", "Let me think.\nStep 2."},
		{"seed: empty block", "<think></think>", "", ""},
		{"unclosed block is reasoning", "Hello <think>still thinking", "Hello", "still thinking"},
		{"leading bare closer makes reasoning", "I should add.\n</think>\n\nThe sum is 4.", "The sum is 4.", "I should add."},
		{"later bare closers removed", "</think>a</think>b", "ab", ""},
		{"blocks joined by a blank line", "<think> one </think>x<think>\n\n</think>y<think>two\n</think>", "xy", "one\n\ntwo"},
		{"opener inside block is reasoning", "<think>a<think>b</think>c", "c", "a<think>b"},
		{"text around block", "Before <think>r</think> after", "Before  after", "r"},
		{"no tags", "  just text\n", "just text", ""},
		{"partial tags are text", "<thin k> </thin", "<thin k> </thin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, reasoning := Split(tt.in)
			if text != tt.text || reasoning != tt.reasoning {
				t.Errorf("Split(%q) = (%q, %q), want (%q, %q)", tt.in, text, reasoning, tt.text, tt.reasoning)
			}
		})
	}
}

func TestSplitOpen(t *testing.T) {
	tests := []struct {
		name, in, text, reasoning string
	}{
		{"closed", "thinking\n</think>\nanswer", "answer", "thinking"},
		{"never closed", "all thinking", "", "all thinking"},
		{"opener inside is reasoning", "a <think> b</think>c", "c", "a <think> b"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, reasoning := SplitOpen(tt.in)
			if text != tt.text || reasoning != tt.reasoning {
				t.Errorf("SplitOpen(%q) = (%q, %q), want (%q, %q)", tt.in, text, reasoning, tt.text, tt.reasoning)
			}
		})
	}
}

// Split's text is Strip's result whenever neither documented difference
// applies: no leading bare closer, and every '<' starts a whole tag (so no
// removal can join a new tag).
func checkSplitAgreesWithStrip(t *testing.T, s string) {
	t.Helper()
	if strings.Count(s, "<") != strings.Count(s, openTag)+strings.Count(s, closeTag) {
		return
	}
	if c, o := strings.Index(s, closeTag), strings.Index(s, openTag); c >= 0 && (o < 0 || c < o) {
		return
	}
	if text, _ := Split(s); text != Strip(s) {
		t.Errorf("Split(%q) text = %q, Strip = %q", s, text, Strip(s))
	}
}

func TestSplitAgreesWithStrip(t *testing.T) {
	for _, s := range corpus() {
		checkSplitAgreesWithStrip(t, s)
	}
}
