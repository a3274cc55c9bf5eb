package chat

// The Hermes tool format that Qwen2.5 and Qwen3 share: tool definitions as
// JSON lines in a <tools> block of the system turn, calls as
// <tool_call>{"name", "arguments"}</tool_call>, results as <tool_response>
// blocks grouped in one user turn.

// The tool instructions of the Qwen2.5 and Qwen3 templates, around the
// tool definitions (one JSON object a line).
const (
	hermesToolsHead = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
	hermesToolsTail = "\n</tools>\n\nFor each function call, return a json object with function name and arguments " +
		"within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
)

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
