package chat

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetherllm/tether/llm"
)

// The families of templates. Each hand-written family renders exactly what
// the model's own Jinja template renders; FamilyJinja renders the template
// itself.
const (
	// FamilyChatML is generic ChatML with no tool support, and the choice
	// when a model carries no template at all.
	FamilyChatML = "chatml"
	// FamilyQwen25 is Qwen2.5-Instruct's template: ChatML with a default
	// system prompt and Hermes-style tools.
	FamilyQwen25 = "qwen2.5"
	// FamilyQwen3 is Qwen3's hybrid-thinking template.
	FamilyQwen3 = "qwen3"
	// FamilyLlama3 is the Llama 3.1 / 3.2 / 3.3 Instruct template.
	FamilyLlama3 = "llama3"
	// FamilyJinja is any other template, rendered by a Jinja engine.
	FamilyJinja = "jinja"
)

// Tool-call syntaxes, as reported by [Template.ToolSyntax].
const (
	// ToolSyntaxHermes: <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>.
	ToolSyntaxHermes = "hermes"
	// ToolSyntaxLlama3: a bare {"name": …, "parameters": {…}} object.
	ToolSyntaxLlama3 = "llama3-json"
)

// ErrToolsUnsupported is returned by Render when the conversation has tool
// definitions or tool messages and the template cannot express them. The
// caller should describe tools in the system prompt and turn tool messages
// into text itself (the driver's text tool-call protocol).
var ErrToolsUnsupported = errors.New("chat: this chat template has no tool support")

// Specials are the texts of the tokenizer's special tokens that templates
// may print. Empty fields take the family's usual token.
type Specials struct {
	BOS string
	EOS string
}

// Conversation is what a template renders: the system prompt, which
// travels apart from the messages as in [llm.Request], the messages, and
// the tools the model may call, in the order given.
type Conversation struct {
	System   string
	Messages []llm.Message
	Tools    []llm.ToolDef
}

// Options are the knobs a template reads besides the conversation.
type Options struct {
	// AddGenerationPrompt ends the prompt with the opening of an
	// assistant turn, for the model to complete.
	AddGenerationPrompt bool
	// EnableThinking is passed to templates that read enable_thinking
	// (Qwen3); nil leaves the template's default (thinking on).
	EnableThinking *bool
	// Date is what strftime_now reads (Llama 3.2 prints today's date);
	// zero means the current time. Set it for reproducible prompts.
	Date time.Time
}

func (o Options) now() time.Time {
	if o.Date.IsZero() {
		return time.Now()
	}
	return o.Date
}

// Thinking says how a prompt leaves the model with respect to reasoning.
type Thinking int

const (
	// ThinkingNone: no reasoning block is expected (not a thinking model,
	// or thinking was turned off in the prompt).
	ThinkingNone Thinking = iota
	// ThinkingTagged: the model may open a <think> block itself.
	ThinkingTagged
	// ThinkingOpen: the prompt ends inside an open <think> block, so the
	// output is reasoning up to a bare </think>.
	ThinkingOpen
)

func (t Thinking) String() string {
	switch t {
	case ThinkingNone:
		return "none"
	case ThinkingTagged:
		return "tagged"
	case ThinkingOpen:
		return "open"
	}
	return fmt.Sprintf("Thinking(%d)", int(t))
}

// Span is a byte range [Start, End) of a rendered prompt.
type Span struct{ Start, End int }

// Prompt is a rendered conversation.
type Prompt struct {
	Text string
	// Content lists, in order and without overlap, the byte ranges of
	// Text that came from the conversation (message text, tool schemas,
	// tool-call arguments, tool output) rather than from the template. A
	// tokenizer should not turn special-token text inside them into
	// special tokens, so that a file read by a tool cannot forge a turn.
	// Templates rendered by the Jinja engine cannot tell
	// the two apart; there Content marks only the conversation's text
	// that is shaped like a control token (see the package docs), and is
	// nil when there is none.
	Content []Span
	// Thinking says whether the generation prefix leaves the model in,
	// or free to open, a reasoning block.
	Thinking Thinking
}

// Template renders conversations into prompt text for one model.
type Template interface {
	// Family is one of the Family constants.
	Family() string
	// Render renders the conversation. Errors are the template's own
	// (raise_exception), [ErrToolsUnsupported], or bad input.
	Render(Conversation, Options) (Prompt, error)
	// Stops are strings that end an assistant turn in this format, for
	// use as stop strings beside the tokenizer's end-of-generation tokens.
	Stops() []string
	// NativeTools reports whether the template renders tool definitions,
	// tool calls and tool results itself.
	NativeTools() bool
	// ToolSyntax is how the model writes tool calls (a ToolSyntax
	// constant), or "" if unknown.
	ToolSyntax() string
}

// TemplateError is an error the template raised or that rendering it hit.
type TemplateError struct {
	Family string
	Msg    string
	// Raised: Msg is the template's own message (raise_exception), such
	// as Llama 3's "This model only supports single tool-calls at once!".
	Raised bool
	Err    error
}

func (e *TemplateError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("chat: %s template: %s: %v", e.Family, e.Msg, e.Err)
	}
	return fmt.Sprintf("chat: %s template: %s", e.Family, e.Msg)
}

func (e *TemplateError) Unwrap() error { return e.Err }

// noMessages is what the official templates fail with on an empty
// conversation (they read messages[0]).
func noMessages(family string) error {
	return &TemplateError{Family: family, Msg: "the conversation has no messages"}
}

// Parse returns the renderer for a model's chat template, the text of the
// GGUF key tokenizer.chat_template. The family is chosen by the template's
// content (see [Detect]); a hand-written family is used only when it
// renders the same text as the template itself on a set of probe
// conversations, otherwise the template is rendered by the Jinja engine.
// An empty template gives ChatML. A template that the Jinja engine cannot
// parse is an error.
func Parse(templateText string, specials Specials) (Template, error) {
	family := Detect(templateText)
	if family == FamilyChatML && isBlank(templateText) {
		return newChatML(specials), nil
	}
	jt, jerr := newJinja(templateText, specials)
	if family == FamilyJinja {
		if jerr != nil {
			return nil, jerr
		}
		return jt, nil
	}
	hand := newHandWritten(family, templateText, specials)
	if jerr != nil {
		// The Jinja engine cannot read a template whose content marks it
		// as a known family: trust the family.
		return hand, nil
	}
	if err := agree(hand, jt); err != nil {
		slog.Debug("chat: template looks like a known family but renders differently; using it as written",
			"family", family, "why", err)
		return jt, nil
	}
	return hand, nil
}

func newHandWritten(family, templateText string, specials Specials) Template {
	switch family {
	case FamilyQwen25:
		return newQwen25(specials)
	case FamilyQwen3:
		return newQwen3(specials)
	case FamilyLlama3:
		return newLlama3(templateText, specials)
	default:
		return newChatML(specials)
	}
}

var (
	_ Template = (*chatML)(nil)
	_ Template = (*qwen25)(nil)
	_ Template = (*qwen3)(nil)
	_ Template = (*llama3)(nil)
	_ Template = (*jinjaTemplate)(nil)
)
