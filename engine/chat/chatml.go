package chat

var chatMLStops = []string{"<|im_end|>", "<|endoftext|>"}

// chatML renders the generic ChatML template:
//
//	{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' +
//	message['content'] + '<|im_end|>' + '\n'}}{% endfor %}
//	{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
type chatML struct{}

func newChatML(Specials) *chatML { return &chatML{} }

func (*chatML) Family() string     { return FamilyChatML }
func (*chatML) Stops() []string    { return append([]string(nil), chatMLStops...) }
func (*chatML) NativeTools() bool  { return false }
func (*chatML) ToolSyntax() string { return "" }

func (*chatML) Render(conv Conversation, opts Options) (Prompt, error) {
	if hasToolMessages(conv) {
		return Prompt{}, ErrToolsUnsupported
	}
	msgs, err := messages(conv, false)
	if err != nil {
		return Prompt{}, err
	}
	var w builder
	for _, m := range msgs {
		w.lit("<|im_start|>" + m.role + "\n")
		w.text(m.content)
		w.lit("<|im_end|>\n")
	}
	if opts.AddGenerationPrompt {
		w.lit("<|im_start|>assistant\n")
	}
	return w.prompt(ThinkingNone), nil
}
