package think

import "testing"

// The seed's pinned cases for strip_thinking_blocks (seed spec §2.5), plus
// the corners of its algorithm.
func TestStrip(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bare closer from template", "</think>\n\n4", "4"},
		{"block then answer", "<think>reasoning here</think>answer", "answer"},
		{"block then bare closer", "<think>x</think>y</think>z", "yz"},
		{"multi-line block", "<think>\nLet me think.\nStep 1: add.\nStep 2: check.\n</think>\n\nAnswer: 42", "Answer: 42"},
		{"empty block", "<think></think>", ""},
		{"unclosed block cuts the rest", "Hello <think>never closed", "Hello"},
		{"no thinking", "  plain answer \n", "plain answer"},
		{"two blocks", "<think>a</think>b<think>c</think>d", "bd"},
		{"opener inside block", "<think>a<think>b</think>c", "c"},
		{"closer before opener", "a</think>b<think>c</think>d", "abd"},
		{"removal joins a new opener", "<thi<think>x</think>nk>y", ""},
		{"replace joins a new closer", "<</think>/think>", "</think>"},
		{"unicode space trimmed", "\u3000answer\u00a0", "answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Strip(tt.in); got != tt.want {
				t.Errorf("Strip(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
