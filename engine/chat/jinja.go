package chat

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"

	"github.com/tetherllm/tether/llm"
)

// jinjaTemplate renders a chat template with gonja, set up as HF
// transformers sets up Jinja2 for chat templates: trim_blocks and
// lstrip_blocks, raise_exception, strftime_now, and a tojson that prints
// as Python's json.dumps does. Where gonja's built-ins differ from Python's
// on what templates use (whitespace in strip/trim/split, dict order), they
// are replaced.
type jinjaTemplate struct {
	tpl      *exec.Template
	source   string
	specials Specials
	shape    jinjaShape
	native   bool
	stops    []string
	// thinks: the template mentions <think>, so its model reasons in
	// tagged blocks.
	thinks bool
}

// jinjaShape is how assistant tool calls are handed to a template. OpenAI's
// shape (content null, arguments an object as HF passes them) suits most;
// some templates fail on a null content (Qwen3 reads it as a string) or
// concatenate the arguments as a JSON string (DeepSeek R1), as llama.cpp's
// template engine also finds out by probing.
type jinjaShape struct {
	emptyContent bool
	stringArgs   bool
	// oneCallPerTurn: the template refuses several calls in one assistant
	// turn (Llama 3), so each tool use is handed over as a turn of its own.
	oneCallPerTurn bool
}

// maxRenderOutput bounds what one render may write; no real prompt comes
// near it, a runaway template does.
const maxRenderOutput = 32 << 20

// maxRange bounds range() so that a template cannot loop for ever.
const maxRange = 1 << 16

const templateID = "tokenizer.chat_template"

func newJinja(source string, sp Specials) (*jinjaTemplate, error) {
	if err := checkNesting(source); err != nil {
		return nil, err
	}
	if err := checkMacroRecursion(source); err != nil {
		return nil, err
	}
	cfg := config.New()
	cfg.TrimBlocks = true
	cfg.LeftStripBlocks = true
	tpl, err := parseTemplate(source, cfg)
	if err != nil {
		return nil, err
	}
	t := &jinjaTemplate{tpl: tpl, source: source, specials: sp, thinks: strings.Contains(source, "<think>")}
	t.stops = templateStops(source, sp)
	t.shape, t.native = probeToolShape(t)
	return t, nil
}

// parseTemplate parses with gonja, turning its panics into errors: the
// template comes from a model file, which may be hostile.
func parseTemplate(source string, cfg *config.Config) (tpl *exec.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			tpl, err = nil, &TemplateError{Family: FamilyJinja, Msg: "does not parse", Err: fmt.Errorf("%v", r)}
		}
	}()
	tpl, err = exec.NewTemplate(templateID, cfg, &oneTemplateLoader{source: source}, jinjaEnvironment)
	if err != nil {
		return nil, &TemplateError{Family: FamilyJinja, Msg: "does not parse", Err: shortError(err)}
	}
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
	text, err := t.render(conv, opts, t.shape)
	if err != nil {
		return Prompt{}, err
	}
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
	return Prompt{Text: text, Thinking: thinking}, nil
}

func (t *jinjaTemplate) render(conv Conversation, opts Options, shape jinjaShape) (out string, err error) {
	data, release, err := t.context(conv, opts, shape)
	if err != nil {
		return "", err
	}
	defer release()
	var raised string
	data["raise_exception"] = func(msg string) (string, error) {
		raised = msg
		return "", errors.New(msg)
	}
	w := &limitedWriter{max: maxRenderOutput}
	defer func() {
		switch r := recover(); r.(type) {
		case nil:
		case outputTooLarge:
			out, err = "", &TemplateError{Family: FamilyJinja, Msg: fmt.Sprintf("output exceeds %d bytes", maxRenderOutput)}
		default:
			out, err = "", &TemplateError{Family: FamilyJinja, Msg: "failed", Err: fmt.Errorf("%v", r)}
		}
	}()
	if err := t.tpl.Execute(w, exec.NewContext(data)); err != nil {
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
func (t *jinjaTemplate) context(conv Conversation, opts Options, shape jinjaShape) (map[string]any, func(), error) {
	msgs, err := messages(conv, !shape.oneCallPerTurn)
	if err != nil {
		return nil, nil, err
	}
	defs, err := tools(conv.Tools)
	if err != nil {
		return nil, nil, err
	}
	reg := &orderRegistry{}
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

// limitedWriter collects output up to max bytes. Past that it panics
// with outputTooLarge, which render recovers: gonja goes on looping after
// a failed write, and a runaway loop must stop at once.
type limitedWriter struct {
	b   strings.Builder
	max int
}

type outputTooLarge struct{}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		panic(outputTooLarge{})
	}
	return w.b.Write(p)
}

// oneTemplateLoader serves the chat template itself and nothing else:
// include, import and extends must not read files on the machine.
type oneTemplateLoader struct {
	source string
	mu     sync.Mutex
	read   bool
}

func (l *oneTemplateLoader) Read(path string) (io.Reader, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if path != templateID || l.read {
		return nil, errors.New("chat templates cannot load other templates")
	}
	l.read = true
	return strings.NewReader(l.source), nil
}

func (l *oneTemplateLoader) Resolve(path string) (string, error) {
	if path != templateID {
		return "", errors.New("chat templates cannot load other templates")
	}
	return path, nil
}

func (l *oneTemplateLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// Limits on template text, far above what any model ships (the largest
// official templates are tens of kilobytes and nest a dozen deep) and far
// below what would take gonja's recursive parser past the Go stack.
const (
	maxTemplateSize = 1 << 20
	maxNesting      = 500
)

var (
	blockOpen  = regexp.MustCompile(`\{%-?\s*(if|for|macro|call|filter|block|with|raw|set\s+[\w.]+\s*-?%\})`)
	blockClose = regexp.MustCompile(`\{%-?\s*end(if|for|macro|call|filter|block|with|raw|set)\b`)
)

// checkNesting refuses templates too large or too deeply nested to parse
// safely. Brackets are counted everywhere, strings included, which only
// errs on the side of refusing.
func checkNesting(source string) error {
	if len(source) > maxTemplateSize {
		return &TemplateError{Family: FamilyJinja, Msg: fmt.Sprintf("template is %d bytes, more than the %d allowed", len(source), maxTemplateSize)}
	}
	depth, deepest := 0, 0
	for i := 0; i < len(source); i++ {
		switch source[i] {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth--
		}
	}
	opens := blockOpen.FindAllStringIndex(source, -1)
	closes := blockClose.FindAllStringIndex(source, -1)
	blocks, deepestBlock := 0, 0
	for len(opens) > 0 || len(closes) > 0 {
		if len(closes) == 0 || (len(opens) > 0 && opens[0][0] < closes[0][0]) {
			blocks++
			deepestBlock = max(deepestBlock, blocks)
			opens = opens[1:]
		} else {
			blocks--
			closes = closes[1:]
		}
	}
	if deepest > maxNesting || deepestBlock > maxNesting {
		return &TemplateError{Family: FamilyJinja, Msg: fmt.Sprintf("template nests more than %d deep", maxNesting)}
	}
	return nil
}

var macroDef = regexp.MustCompile(`\{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)`)

// checkMacroRecursion refuses templates whose macros call themselves: gonja
// would recurse until the Go stack overflows, which no recover catches.
// It is conservative: any mention of a macro's own name inside its body,
// or of another macro's, counts as a call, and a cycle is refused.
func checkMacroRecursion(source string) error {
	defs := macroDef.FindAllStringSubmatchIndex(source, -1)
	if len(defs) == 0 {
		return nil
	}
	bodies := map[string]string{}
	for _, d := range defs {
		name := source[d[2]:d[3]]
		rest := source[d[1]:]
		end := strings.Index(rest, "endmacro")
		if end < 0 {
			end = len(rest)
		}
		bodies[name] += rest[:end]
	}
	calls := map[string][]string{}
	for name, body := range bodies {
		for other := range bodies {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(other) + `\s*\(`).MatchString(body) {
				calls[name] = append(calls[name], other)
			}
		}
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var visit func(string) bool
	visit = func(n string) bool {
		switch state[n] {
		case active:
			return true
		case done:
			return false
		}
		state[n] = active
		for _, c := range calls[n] {
			if visit(c) {
				return true
			}
		}
		state[n] = done
		return false
	}
	for name := range bodies {
		if visit(name) {
			return &TemplateError{Family: FamilyJinja, Msg: fmt.Sprintf("macro %q calls itself; recursive macros are not supported", name)}
		}
	}
	return nil
}

// endMarkers are texts that end a turn in common chat formats; those a
// template prints become its stop strings.
var endMarkers = []string{
	"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|end_of_text|>", "</s>", "<｜end▁of▁sentence｜>", "<|return|>",
}

func templateStops(source string, sp Specials) []string {
	var stops []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			stops = append(stops, s)
		}
	}
	for _, m := range endMarkers {
		if strings.Contains(source, m) {
			add(m)
		}
	}
	if strings.Contains(source, "eos_token") {
		add(sp.EOS)
	}
	return stops
}

var (
	// contentNoneTest: the template asks whether a message's content is
	// none, so it expects OpenAI's null content on tool-call turns.
	contentNoneTest = regexp.MustCompile(`\bcontent['"\]]*\s+is\s+(not\s+)?none`)
	// argumentsConcatenated: the template glues the arguments into a
	// string with +, so it expects OpenAI's JSON-string arguments.
	argumentsConcatenated = regexp.MustCompile(`\+\s*[\w.\[\]'"]*arguments['"\]]*|arguments['"\]]*\s*\+`)
)

// toolShape decides how tool calls are handed to the template. Python's
// Jinja2 fails on a null content that a template treats as a string, or
// on object arguments that it concatenates, where gonja quietly prints
// something; so the choice is read from the template rather than probed.
func toolShape(source string) jinjaShape {
	return jinjaShape{
		emptyContent: !contentNoneTest.MatchString(source),
		stringArgs:   argumentsConcatenated.MatchString(source),
	}
}

// probeToolShape decides the tool shape and whether the template renders
// tools at all: one that prints neither the probe tool's name nor the
// probe call's arguments has no tool support. A template that raises on
// two calls in one turn gets one call a turn.
func probeToolShape(t *jinjaTemplate) (jinjaShape, bool) {
	const toolName, argKey, argVal = "tether_probe_tool", "tether_probe_key", "tether_probe_value"
	shape := toolShape(t.source)
	defs := []llm.ToolDef{{Name: toolName, Description: "probe", InputSchema: []byte(`{"type":"object","properties":{}}`)}}
	one := Conversation{Messages: probeToolConversation(toolName, argKey, argVal), Tools: defs}
	out, err := t.render(one, Options{AddGenerationPrompt: true, Date: probeDate}, shape)
	if err != nil || !strings.Contains(out, toolName) || !strings.Contains(out, argVal) {
		return shape, false
	}
	two := Conversation{Tools: defs, Messages: []llm.Message{
		llm.UserMessage("What is the weather?"),
		probeCall("abcdefghi", toolName, fmt.Sprintf(`{%q: %q}`, argKey, argVal)),
		probeCall("jklmnopqr", toolName, fmt.Sprintf(`{%q: %q}`, argKey, argVal)),
		probeResult("abcdefghi", toolName, "sunny"),
		probeResult("jklmnopqr", toolName, "sunny"),
	}}
	if _, err := t.render(two, Options{AddGenerationPrompt: true, Date: probeDate}, shape); err != nil {
		shape.oneCallPerTurn = true
	}
	return shape, true
}
