package chat

// qwen25DefaultSystem is the system prompt Qwen2.5's template supplies
// when the conversation has none.
const qwen25DefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

// qwen25 renders Qwen2.5-Instruct's template (Qwen/Qwen2.5-*-Instruct
// tokenizer_config.json).
type qwen25 struct{}

func newQwen25(Specials) *qwen25 { return &qwen25{} }

func (*qwen25) Family() string     { return FamilyQwen25 }
func (*qwen25) Stops() []string    { return append([]string(nil), chatMLStops...) }
func (*qwen25) NativeTools() bool  { return true }
func (*qwen25) ToolSyntax() string { return ToolSyntaxHermes }

func (*qwen25) Render(conv Conversation, opts Options) (Prompt, error) {
	msgs, defs, err := prepare(conv, true, FamilyQwen25)
	if err != nil {
		return Prompt{}, err
	}
	var w builder
	firstIsSystem := msgs[0].role == "system"
	if len(defs) > 0 {
		w.lit("<|im_start|>system\n")
		if firstIsSystem {
			w.text(msgs[0].content)
		} else {
			w.lit(qwen25DefaultSystem)
		}
		w.lit("\n\n")
		writeHermesTools(&w, defs)
	} else if firstIsSystem {
		w.lit("<|im_start|>system\n")
		w.text(msgs[0].content)
		w.lit("<|im_end|>\n")
	} else {
		w.lit("<|im_start|>system\n" + qwen25DefaultSystem + "<|im_end|>\n")
	}
	for i, m := range msgs {
		switch {
		case m.role == "user" || (m.role == "system" && i > 0) || (m.role == "assistant" && len(m.calls) == 0):
			w.lit("<|im_start|>" + m.role + "\n")
			w.text(m.content)
			w.lit("<|im_end|>\n")
		case m.role == "assistant":
			w.lit("<|im_start|>assistant")
			if m.content != "" {
				w.lit("\n")
				w.text(m.content)
			}
			for _, c := range m.calls {
				w.lit("\n")
				writeHermesCall(&w, c, false)
			}
			w.lit("<|im_end|>\n")
		case m.role == "tool":
			writeToolResponse(&w, msgs, i)
		}
	}
	if opts.AddGenerationPrompt {
		w.lit("<|im_start|>assistant\n")
	}
	return w.prompt(ThinkingNone), nil
}
