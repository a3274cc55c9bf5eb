package chat

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// jinjaShape is how assistant tool calls are handed to a template. OpenAI's
// shape (content null, arguments an object as HF passes them) suits most;
// some templates fail on a null content (Qwen3 reads it as a string) or
// concatenate the arguments as a JSON string (DeepSeek R1). llama.cpp's
// template engine finds this out by probing; Python raises where gonja is
// lenient, so here it is read from the template text (toolShape).
type jinjaShape struct {
	emptyContent bool
	stringArgs   bool
	// oneCallPerTurn: the template refuses several calls in one assistant
	// turn (Llama 3), so each tool use is handed over as a turn of its own.
	oneCallPerTurn bool
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
// two calls in one turn gets one call a turn. A template that goes past
// its evaluation budget on these small conversations is hostile or
// broken, and is refused (the error).
func probeToolShape(t *jinjaTemplate) (jinjaShape, bool, error) {
	const toolName, argKey, argVal = "tether_probe_tool", "tether_probe_key", "tether_probe_value"
	shape := toolShape(t.source)
	defs := []llm.ToolDef{{Name: toolName, Description: "probe", InputSchema: []byte(`{"type":"object","properties":{}}`)}}
	one := Conversation{Messages: probeToolConversation(toolName, argKey, argVal), Tools: defs}
	out, err := t.render(one, Options{AddGenerationPrompt: true, Date: probeDate}, shape)
	if errors.Is(err, ErrTemplateLimit) {
		return shape, false, err
	}
	if err != nil || !strings.Contains(out, toolName) || !strings.Contains(out, argVal) {
		return shape, false, nil
	}
	two := Conversation{Tools: defs, Messages: []llm.Message{
		llm.UserMessage("What is the weather?"),
		probeCall("abcdefghi", toolName, fmt.Sprintf(`{%q: %q}`, argKey, argVal)),
		probeCall("jklmnopqr", toolName, fmt.Sprintf(`{%q: %q}`, argKey, argVal)),
		probeResult("abcdefghi", toolName, "sunny"),
		probeResult("jklmnopqr", toolName, "sunny"),
	}}
	if _, err := t.render(two, Options{AddGenerationPrompt: true, Date: probeDate}, shape); err != nil {
		if errors.Is(err, ErrTemplateLimit) {
			return shape, false, err
		}
		shape.oneCallPerTurn = true
	}
	return shape, true, nil
}
