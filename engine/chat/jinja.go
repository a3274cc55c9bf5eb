package chat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
)

// jinjaTemplate renders a chat template with gonja, set up as HF
// transformers sets up Jinja2 for chat templates: trim_blocks and
// lstrip_blocks, raise_exception, strftime_now, and a tojson that prints
// as Python's json.dumps does. Where gonja's built-ins differ from Python's
// on what templates use (whitespace in strip/trim/split, dict order), they
// are replaced.
type jinjaTemplate struct {
	tpl      *exec.Template
	cfg      *config.Config
	loader   loaders.Loader
	source   string
	specials Specials
	shape    jinjaShape
	native   bool
	stops    []string
	// control finds control-token text in the conversation (see defuser).
	control *controlText
	// thinks: the template mentions <think>, so its model reasons in
	// tagged blocks.
	thinks bool
}

const templateID = "tokenizer.chat_template"

func newJinja(source string, sp Specials) (*jinjaTemplate, error) {
	if err := checkNesting(source); err != nil {
		return nil, err
	}
	cfg := config.New()
	cfg.TrimBlocks = true
	cfg.LeftStripBlocks = true
	loader := &oneTemplateLoader{source: source}
	tpl, err := parseTemplate(source, cfg, loader)
	if err != nil {
		return nil, err
	}
	t := &jinjaTemplate{tpl: tpl, cfg: cfg, loader: loader, source: source, specials: sp, thinks: strings.Contains(source, "<think>")}
	t.stops = templateStops(source, sp)
	t.control = newControlText(sp, t.stops)
	if t.shape, t.native, err = probeToolShape(t); err != nil {
		return nil, err
	}
	return t, nil
}

// parseTemplate parses with gonja, turning its panics into errors: the
// template comes from a model file, which may be hostile.
func parseTemplate(source string, cfg *config.Config, loader loaders.Loader) (tpl *exec.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			tpl, err = nil, &TemplateError{Family: FamilyJinja, Msg: "does not parse", Err: fmt.Errorf("%v", r)}
		}
	}()
	tpl, err = exec.NewTemplate(templateID, cfg, loader, jinjaEnvironment)
	if err != nil {
		return nil, &TemplateError{Family: FamilyJinja, Msg: "does not parse", Err: shortError(err)}
	}
	instrument(tpl.Root())
	return tpl, nil
}

func (*jinjaTemplate) Family() string      { return FamilyJinja }
func (t *jinjaTemplate) Stops() []string   { return append([]string(nil), t.stops...) }
func (t *jinjaTemplate) NativeTools() bool { return t.native }

func (t *jinjaTemplate) ToolSyntax() string {
	switch {
	case !t.native:
		return ""
	case strings.Contains(t.source, "<tool_call>") && strings.Contains(t.source, `"arguments"`):
		return ToolSyntaxHermes
	case strings.Contains(t.source, "<|start_header_id|>") && strings.Contains(t.source, `"parameters": `):
		return ToolSyntaxLlama3
	}
	return ""
}

func (t *jinjaTemplate) Render(conv Conversation, opts Options) (Prompt, error) {
	if !t.native && hasToolMessages(conv) {
		return Prompt{}, ErrToolsUnsupported
	}
	d := &defuser{control: t.control}
	text, err := t.renderDefused(conv, opts, t.shape, d)
	if err != nil {
		return Prompt{}, err
	}
	text, spans := d.restore(text)
	thinking := ThinkingNone
	tail := strings.TrimRightFunc(text, pyIsSpace)
	switch {
	case opts.AddGenerationPrompt && strings.HasSuffix(tail, "<think>"):
		thinking = ThinkingOpen
	case opts.AddGenerationPrompt && strings.HasSuffix(tail, "</think>"):
		thinking = ThinkingNone // an empty block closed by the template
	case t.thinks:
		thinking = ThinkingTagged
	}
	return Prompt{Text: text, Content: spans, Thinking: thinking}, nil
}

func (t *jinjaTemplate) render(conv Conversation, opts Options, shape jinjaShape) (string, error) {
	return t.renderDefused(conv, opts, shape, nil)
}

// renderDefused renders with the conversation's control-token text
// swapped for placeholders by d (none when d is nil).
func (t *jinjaTemplate) renderDefused(conv Conversation, opts Options, shape jinjaShape, d *defuser) (out string, err error) {
	data, release, err := t.context(conv, opts, shape, d)
	if err != nil {
		return "", err
	}
	defer release()
	var raised string
	data["raise_exception"] = func(msg string) (string, error) {
		raised = msg
		return "", errors.New(msg)
	}
	kit := renderKits.Get().(*renderKit)
	defer renderKits.Put(kit)
	w := &limitedWriter{max: maxRenderOutput}
	defer func() {
		switch r := recover().(type) {
		case nil:
		case limitExceeded:
			out, err = "", &TemplateError{Family: FamilyJinja, Msg: "stopped", Err: r.err}
		default:
			out, err = "", &TemplateError{Family: FamilyJinja, Msg: "failed", Err: fmt.Errorf("%v", r)}
		}
	}()
	renderer := kit.renderer(t, w, data, stepBudget(conversationSize(conv)))
	if err := renderer.Execute(); err != nil {
		if raised != "" {
			return "", &TemplateError{Family: FamilyJinja, Msg: raised, Raised: true}
		}
		return "", &TemplateError{Family: FamilyJinja, Msg: "failed", Err: shortError(err)}
	}
	return w.b.String(), nil
}

// context builds what transformers passes to a chat template: messages,
// tools (none when there are none), add_generation_prompt, the special
// tokens, and enable_thinking when the caller set it.
func (t *jinjaTemplate) context(conv Conversation, opts Options, shape jinjaShape, d *defuser) (map[string]any, func(), error) {
	msgs, err := messages(conv, !shape.oneCallPerTurn)
	if err != nil {
		return nil, nil, err
	}
	defs, err := tools(conv.Tools)
	if err != nil {
		return nil, nil, err
	}
	reg := &orderRegistry{defuse: d}
	list := make(pyList, 0, len(msgs))
	for _, m := range msgs {
		list = append(list, reg.message(m, shape))
	}
	var toolList any
	if len(defs) > 0 {
		l := make(pyList, 0, len(defs))
		for _, d := range defs {
			l = append(l, reg.value(d.value))
		}
		toolList = l
	}
	now := opts.now()
	data := map[string]any{
		"messages":              list,
		"tools":                 toolList,
		"add_generation_prompt": opts.AddGenerationPrompt,
		"bos_token":             t.specials.BOS,
		"eos_token":             t.specials.EOS,
		"strftime_now": func(format string) string {
			return strftime(now, format)
		},
		"range": boundedRange,
	}
	if opts.EnableThinking != nil {
		data["enable_thinking"] = *opts.EnableThinking
	}
	return data, reg.release, nil
}

// shortError keeps the end of gonja's errors, where the cause is, and
// drops the chain of enclosing blocks (and any quoted template source).
func shortError(err error) error {
	msg := err.Error()
	if len(msg) > 300 {
		msg = "…" + msg[len(msg)-300:]
	}
	return errors.New(msg)
}
