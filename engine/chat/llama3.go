package chat

import (
	"regexp"
	"strings"
)

const llama3BOS = "<|begin_of_text|>"

// llama3DefaultDate is the date the Llama 3.1 and 3.3 templates print when
// the caller passes no date_string.
const llama3DefaultDate = "26 Jul 2024"

var llama3DateRE = regexp.MustCompile(`set date_string = "([^"]*)"`)

// llama3 renders the Llama 3.1, 3.2 and 3.3 Instruct templates (with no
// builtin_tools): the system header with the knowledge cutoff and date,
// custom tools in the first user message, tool calls as
// {"name": …, "parameters": …} and tool results as ipython turns.
type llama3 struct {
	bos string
	// fixedDate is the template's date_string default (3.1 and 3.3); it is
	// empty for templates that ask strftime_now for today's date (3.2).
	fixedDate string
}

func newLlama3(templateText string, sp Specials) *llama3 {
	t := &llama3{bos: sp.BOS}
	if t.bos == "" {
		t.bos = llama3BOS
	}
	if !strings.Contains(templateText, "strftime_now") {
		t.fixedDate = llama3DefaultDate
		if m := llama3DateRE.FindStringSubmatch(templateText); m != nil {
			t.fixedDate = m[1]
		}
	}
	return t
}

func (*llama3) Family() string     { return FamilyLlama3 }
func (*llama3) Stops() []string    { return []string{"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"} }
func (*llama3) NativeTools() bool  { return true }
func (*llama3) ToolSyntax() string { return ToolSyntaxLlama3 }

func (t *llama3) Render(conv Conversation, opts Options) (Prompt, error) {
	// The template raises on more than one call a turn, so each tool use
	// stays an assistant turn of its own.
	msgs, defs, err := prepare(conv, false, FamilyLlama3)
	if err != nil {
		return Prompt{}, err
	}
	date := t.fixedDate
	if date == "" {
		date = opts.now().Format("02 Jan 2006")
	}
	var w builder
	w.lit(t.bos)
	system := ""
	if msgs[0].role == "system" {
		system = pyStrip(msgs[0].content)
		msgs = msgs[1:]
	}
	w.lit("<|start_header_id|>system<|end_header_id|>\n\n")
	if len(defs) > 0 {
		w.lit("Environment: ipython\n")
	}
	w.lit("Cutting Knowledge Date: December 2023\nToday Date: " + date + "\n\n")
	w.text(system)
	w.lit("<|eot_id|>")
	if len(defs) > 0 {
		if len(msgs) == 0 {
			return Prompt{}, &TemplateError{Family: FamilyLlama3, Msg: "Cannot put tools in the first user message when there's no first user message!", Raised: true}
		}
		first := pyStrip(msgs[0].content)
		msgs = msgs[1:]
		w.lit("<|start_header_id|>user<|end_header_id|>\n\n")
		w.lit("Given the following functions, please respond with a JSON for a function call " +
			"with its proper arguments that best answers the given prompt.\n\n" +
			`Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.` +
			"Do not use variables.\n\n")
		for _, d := range defs {
			w.text(pyDumps(d.value, 4))
			w.lit("\n\n")
		}
		w.text(first)
		w.lit("<|eot_id|>")
	}
	for _, m := range msgs {
		switch {
		case m.role == "tool":
			w.lit("<|start_header_id|>ipython<|end_header_id|>\n\n")
			// A string "is iterable" to Jinja, so the template prints tool
			// output through tojson, quotes and all.
			w.text(pyDumps(jsonStr(m.content), 0))
			w.lit("<|eot_id|>")
		case len(m.calls) > 0:
			c := m.calls[0]
			w.lit("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"")
			w.text(c.name)
			w.lit("\", \"parameters\": ")
			w.text(pyDumps(c.args, 0))
			w.lit("}<|eot_id|>")
		default:
			w.lit("<|start_header_id|>" + m.role + "<|end_header_id|>\n\n")
			w.text(pyStrip(m.content))
			w.lit("<|eot_id|>")
		}
	}
	if opts.AddGenerationPrompt {
		w.lit("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return w.prompt(ThinkingNone), nil
}
