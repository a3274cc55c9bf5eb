package chat

import "strings"

// qwen3 renders the Qwen3 hybrid-thinking template (Qwen/Qwen3-0.6B and
// its siblings): ChatML, Hermes-style tools, reasoning shown only for the
// assistant turns after the last real user query, and enable_thinking=false
// closing an empty <think> block in the generation prefix.
type qwen3 struct{}

func newQwen3(Specials) *qwen3 { return &qwen3{} }

func (*qwen3) Family() string     { return FamilyQwen3 }
func (*qwen3) Stops() []string    { return append([]string(nil), chatMLStops...) }
func (*qwen3) NativeTools() bool  { return true }
func (*qwen3) ToolSyntax() string { return ToolSyntaxHermes }

func (*qwen3) Render(conv Conversation, opts Options) (Prompt, error) {
	msgs, defs, err := prepare(conv, true, FamilyQwen3)
	if err != nil {
		return Prompt{}, err
	}
	var w builder
	if len(defs) > 0 {
		w.lit("<|im_start|>system\n")
		if msgs[0].role == "system" {
			w.text(msgs[0].content)
			w.lit("\n\n")
		}
		writeHermesTools(&w, defs)
	} else if msgs[0].role == "system" {
		w.lit("<|im_start|>system\n")
		w.text(msgs[0].content)
		w.lit("<|im_end|>\n")
	}
	lastQuery := lastQueryIndex(msgs)
	for i, m := range msgs {
		switch {
		case m.role == "user" || (m.role == "system" && i > 0):
			w.lit("<|im_start|>" + m.role + "\n")
			w.text(m.content)
			w.lit("<|im_end|>\n")
		case m.role == "assistant":
			content, reasoning := splitReasoning(m)
			w.lit("<|im_start|>assistant\n")
			if i > lastQuery && (i == len(msgs)-1 || reasoning != "") {
				w.lit("<think>\n")
				w.text(strings.Trim(reasoning, "\n"))
				w.lit("\n</think>\n\n")
				w.text(strings.TrimLeft(content, "\n"))
			} else {
				w.text(content)
			}
			for j, c := range m.calls {
				if j > 0 || content != "" {
					w.lit("\n")
				}
				// Unlike Qwen2.5's, this template prints string arguments
				// as they are.
				writeHermesCall(&w, c, true)
			}
			w.lit("<|im_end|>\n")
		case m.role == "tool":
			writeToolResponse(&w, msgs, i)
		}
	}
	thinking := ThinkingTagged
	if opts.AddGenerationPrompt {
		w.lit("<|im_start|>assistant\n")
		if opts.EnableThinking != nil && !*opts.EnableThinking {
			w.lit("<think>\n\n</think>\n\n")
			thinking = ThinkingNone
		}
	}
	return w.prompt(thinking), nil
}

// lastQueryIndex is the index of the last user message that is a real
// query rather than tool output the client wrapped in <tool_response>; the
// template keeps reasoning only for assistant turns after it.
func lastQueryIndex(msgs []message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.role == "user" && !(strings.HasPrefix(m.content, "<tool_response>") && strings.HasSuffix(m.content, "</tool_response>")) {
			return i
		}
	}
	return len(msgs) - 1
}

// splitReasoning returns an assistant message's answer and reasoning: the
// reasoning given apart, or else a <think>…</think> block inside the text,
// cut the way the template cuts it.
func splitReasoning(m message) (content, reasoning string) {
	content = m.content
	if m.hasReasoning {
		return content, m.reasoning
	}
	if !strings.Contains(content, "</think>") {
		return content, ""
	}
	parts := strings.Split(content, "</think>")
	answer := strings.TrimLeft(parts[len(parts)-1], "\n")
	before := strings.TrimRight(parts[0], "\n")
	thoughts := strings.Split(before, "<think>")
	return answer, strings.TrimLeft(thoughts[len(thoughts)-1], "\n")
}
