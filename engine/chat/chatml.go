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

// qwen25DefaultSystem is the system prompt Qwen2.5's template supplies
// when the conversation has none.
const qwen25DefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

// The tool instructions of the Qwen2.5 and Qwen3 templates, around the
// tool definitions (one JSON object a line).
const (
	hermesToolsHead = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
	hermesToolsTail = "\n</tools>\n\nFor each function call, return a json object with function name and arguments " +
		"within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
)

// qwen25 renders Qwen2.5-Instruct's template (Qwen/Qwen2.5-*-Instruct
// tokenizer_config.json).
type qwen25 struct{}

func newQwen25(Specials) *qwen25 { return &qwen25{} }

func (*qwen25) Family() string     { return FamilyQwen25 }
func (*qwen25) Stops() []string    { return append([]string(nil), chatMLStops...) }
func (*qwen25) NativeTools() bool  { return true }
func (*qwen25) ToolSyntax() string { return ToolSyntaxHermes }

func (*qwen25) Render(conv Conversation, opts Options) (Prompt, error) {
	msgs, err := messages(conv, true)
	if err != nil {
		return Prompt{}, err
	}
	defs, err := tools(conv.Tools)
	if err != nil {
		return Prompt{}, err
	}
	if len(msgs) == 0 {
		return Prompt{}, noMessages(FamilyQwen25)
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

func writeHermesTools(w *builder, defs []tool) {
	w.lit(hermesToolsHead)
	for _, d := range defs {
		w.lit("\n")
		w.text(pyDumps(d.value, 0))
	}
	w.lit(hermesToolsTail)
}

// writeHermesCall writes one call; rawStrings prints arguments that are a
// JSON string as the string itself, as templates that test
// "arguments is string" do.
func writeHermesCall(w *builder, c call, rawStrings bool) {
	w.lit("<tool_call>\n{\"name\": \"")
	w.text(c.name)
	w.lit("\", \"arguments\": ")
	if rawStrings && c.args.kind == jsonString {
		w.text(c.args.str)
	} else {
		w.text(pyDumps(c.args, 0))
	}
	w.lit("}\n</tool_call>")
}

// writeToolResponse writes tool message i; a run of tool messages shares
// one user turn.
func writeToolResponse(w *builder, msgs []message, i int) {
	if i == 0 || msgs[i-1].role != "tool" {
		w.lit("<|im_start|>user")
	}
	w.lit("\n<tool_response>\n")
	w.text(msgs[i].content)
	w.lit("\n</tool_response>")
	if i == len(msgs)-1 || msgs[i+1].role != "tool" {
		w.lit("<|im_end|>\n")
	}
}
