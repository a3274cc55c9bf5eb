package embedded

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
	"github.com/tetherllm/tether/toolcall"
)

// feed runs generated text, cut into pieces of n bytes (0: whole),
// through a turn's output and returns its events.
func feed(syntax string, thinking chat.Thinking, prefill, generated string, n int, reason engine.StopReason) []llm.Event {
	t := &Turn{d: &Driver{ids: toolcall.NewIDs()}, r: rendered{prompt: chat.Prompt{Thinking: thinking}, syntax: syntax, prefill: prefill}}
	o := newOutput(t)
	var evs []llm.Event
	yield := func(ev llm.Event, err error) bool {
		evs = append(evs, ev)
		return true
	}
	o.push(prefill, yield)
	if n == 0 {
		n = len(generated) + 1
	}
	for i := 0; i < len(generated); i += n {
		o.push(generated[i:min(i+n, len(generated))], yield)
	}
	o.finish(engine.Summary{Reason: reason, PromptTokens: 7, Timings: llm.Timings{GeneratedTokens: 3}}, yield)
	return evs
}

// summary renders events for comparison: deltas merged by kind.
func summary(evs []llm.Event) string {
	var b strings.Builder
	last := llm.EventKind(0)
	for _, ev := range evs {
		switch ev.Kind {
		case llm.EventTextDelta, llm.EventReasoningDelta:
			if ev.Kind != last {
				fmt.Fprintf(&b, "|%s:", ev.Kind)
			}
			b.WriteString(ev.Text)
		case llm.EventToolCallStart:
			fmt.Fprintf(&b, "|start %s", ev.ToolCall.Name)
		case llm.EventToolCallEnd:
			fmt.Fprintf(&b, "|call %s %s", ev.ToolCall.Name, ev.ToolCall.Input)
		case llm.EventDone:
			r := ev.Response
			fmt.Fprintf(&b, "|done %s text=%q reasoning=%q calls=%d", r.StopReason, r.Text, r.Reasoning, len(r.ToolCalls))
		}
		last = ev.Kind
	}
	return b.String()
}

func TestOutput(t *testing.T) {
	cases := []struct {
		name      string
		syntax    string
		thinking  chat.Thinking
		prefill   string
		generated string
		reason    engine.StopReason
		want      string
	}{
		{name: "plain text", generated: "Hello, world.", reason: engine.StopEOG,
			want: `|text_delta:Hello, world.|done end_turn text="Hello, world." reasoning="" calls=0`},
		{name: "tags stay text without tools", generated: "see <tool_call>{\"name\":\"x\"}</tool_call>", reason: engine.StopEOG,
			want: `|text_delta:see <tool_call>{"name":"x"}</tool_call>|done end_turn text="see <tool_call>{\"name\":\"x\"}</tool_call>" reasoning="" calls=0`},
		{name: "reasoning then text", generated: "<think>\nweigh it\n</think>\n\nAnswer.", reason: engine.StopEOG,
			want: `|reasoning_delta:weigh it|text_delta:Answer.|done end_turn text="Answer." reasoning="weigh it" calls=0`},
		{name: "prompt opened the block", thinking: chat.ThinkingOpen, generated: "weigh it\n</think>\n\nAnswer.", reason: engine.StopMaxTokens,
			want: `|reasoning_delta:weigh it|text_delta:Answer.|done max_tokens text="Answer." reasoning="weigh it" calls=0`},
		{name: "hermes call", syntax: chat.ToolSyntaxHermes, reason: engine.StopEOG,
			generated: "Let me look.\n<tool_call>\n{\"name\": \"glob\", \"arguments\": {\"pattern\": \"*.go\"}}\n</tool_call>",
			want:      `|text_delta:Let me look.|start glob|call glob {"pattern":"*.go"}|done tool_use text="Let me look." reasoning="" calls=1`},
		{name: "two hermes calls", syntax: chat.ToolSyntaxHermes, reason: engine.StopEOG,
			generated: "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {\"x\": 1}}\n</tool_call>",
			want:      `|start a|call a {}|start b|call b {"x":1}|done tool_use text="" reasoning="" calls=2`},
		{name: "a call in the reasoning is not run", syntax: chat.ToolSyntaxHermes, reason: engine.StopEOG,
			generated: "<think><tool_call>{\"name\": \"rm\"}</tool_call></think>No.",
			want:      `|reasoning_delta:<tool_call>{"name": "rm"}</tool_call>|text_delta:No.|done end_turn text="No." reasoning="<tool_call>{\"name\": \"rm\"}</tool_call>" calls=0`},
		{name: "forced named call", syntax: chat.ToolSyntaxHermes, reason: engine.StopEOG,
			prefill: "<tool_call>\n{\"name\": \"glob\", \"arguments\": ", generated: "{\"pattern\": \"*\"}}\n</tool_call>",
			want: `|start glob|call glob {"pattern":"*"}|done tool_use text="" reasoning="" calls=1`},
		{name: "forced call after an open think block", syntax: chat.ToolSyntaxHermes, thinking: chat.ThinkingOpen, reason: engine.StopEOG,
			prefill: "</think>\n\n<tool_call>\n{\"name\": \"", generated: "glob\", \"arguments\": {}}\n</tool_call>",
			want: `|start glob|call glob {}|done tool_use text="" reasoning="" calls=1`},
		{name: "text protocol call", syntax: syntaxText, reason: engine.StopString,
			generated: "<tool_call>\n{\"name\":\"glob\",\"input\":{\"pattern\":\"*.go\"}}\n</tool_call>",
			want:      `|start glob|call glob {"pattern":"*.go"}|done tool_use text="" reasoning="" calls=1`},
		{name: "text protocol, no call", syntax: syntaxText, reason: engine.StopString,
			generated: "No tools needed.",
			want:      `|text_delta:No tools needed.|done stop_sequence text="No tools needed." reasoning="" calls=0`},
		{name: "llama3 call", syntax: chat.ToolSyntaxLlama3, reason: engine.StopEOG,
			generated: `{"name": "glob", "parameters": {"pattern": "*.go"}}`,
			want:      `|start glob|call glob {"pattern":"*.go"}|done tool_use text="" reasoning="" calls=1`},
		{name: "llama3 calls separated by semicolons", syntax: chat.ToolSyntaxLlama3, reason: engine.StopEOG,
			generated: `{"name": "a", "parameters": {}}; {"name": "b", "arguments": "{\"x\": [1, \"}\"]}"}`,
			want:      `|start a|call a {}|start b|call b {"x":[1,"}"]}|done tool_use text="" reasoning="" calls=2`},
		{name: "llama3 text", syntax: chat.ToolSyntaxLlama3, reason: engine.StopEOG,
			generated: `The answer is {"name": 1}.`,
			want:      `|text_delta:The answer is {"name": 1}.|done end_turn text="The answer is {\"name\": 1}." reasoning="" calls=0`},
		{name: "llama3 object that is not a call", syntax: chat.ToolSyntaxLlama3, reason: engine.StopEOG,
			generated: `{"result": 42} is the JSON.`,
			want:      `|text_delta:{"result": 42} is the JSON.|done end_turn text="{\"result\": 42} is the JSON." reasoning="" calls=0`},
		{name: "llama3 object cut off", syntax: chat.ToolSyntaxLlama3, reason: engine.StopMaxTokens,
			generated: `{"name": "glob", "parameters": {"pat`,
			want:      `|text_delta:{"name": "glob", "parameters": {"pat|done max_tokens text="{\"name\": \"glob\", \"parameters\": {\"pat" reasoning="" calls=0`},
		{name: "llama3 call then text", syntax: chat.ToolSyntaxLlama3, reason: engine.StopEOG,
			generated: `{"name": "a", "parameters": {}} then more`,
			want:      `|start a|call a {}|text_delta:then more|done tool_use text="then more" reasoning="" calls=1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			whole := summary(feed(c.syntax, c.thinking, c.prefill, c.generated, 0, c.reason))
			if whole != c.want {
				t.Errorf("whole:\n got %s\nwant %s", whole, c.want)
			}
			for _, n := range []int{0, 1, 2, 3, 7} {
				evs := feed(c.syntax, c.thinking, c.prefill, c.generated, n, c.reason)
				if got := summary(evs); got != c.want {
					t.Errorf("in pieces of %d:\n got %s\nwant %s", n, got, c.want)
				}
				if _, err := llmtest.CheckStream(llmtest.Replay(evs)); err != nil {
					t.Errorf("in pieces of %d: %v", n, err)
				}
			}
		})
	}
}

func TestOutputIDsAreUnique(t *testing.T) {
	d := &Driver{ids: toolcall.NewIDs()}
	seen := map[string]bool{}
	for range 3 {
		tr := &Turn{d: d, r: rendered{syntax: chat.ToolSyntaxHermes}}
		o := newOutput(tr)
		var calls []llm.ToolCall
		yield := func(ev llm.Event, _ error) bool {
			if ev.Kind == llm.EventToolCallEnd {
				calls = append(calls, *ev.ToolCall)
			}
			return true
		}
		o.push(`<tool_call>{"name":"a"}</tool_call><tool_call>{"name":"b"}</tool_call>`, yield)
		o.finish(engine.Summary{Reason: engine.StopEOG}, yield)
		for _, c := range calls {
			if c.ID == "" || seen[c.ID] {
				t.Fatalf("call id %q empty or repeated", c.ID)
			}
			seen[c.ID] = true
		}
	}
	if len(seen) != 6 {
		t.Errorf("%d ids, want 6", len(seen))
	}
}

func TestOutputUsage(t *testing.T) {
	evs := feed("", chat.ThinkingNone, "", "hi", 0, engine.StopEOG)
	r := evs[len(evs)-1].Response
	if r.Usage != (llm.Usage{InputTokens: 7, OutputTokens: 3}) || r.Timings.GeneratedTokens != 3 {
		t.Errorf("usage %+v timings %+v", r.Usage, r.Timings)
	}
}

// FuzzLlama3Parser checks that the parser never panics, that pieces give
// what the whole gives, and that every call it finds has valid JSON input.
func FuzzLlama3Parser(f *testing.F) {
	for _, s := range []string{
		`{"name": "glob", "parameters": {"pattern": "*.go"}}`,
		`{"name": "a", "parameters": {}}; {"name": "b", "arguments": "{\"x\": 1}"}`,
		`{"name": "x", "parameters": "not json"}`,
		`  {"result": "}"} text`, `plain`, `{`, `{"name":`, `"}"{`, `{"name": "a"}]]]`, `[1,2]`,
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, cut uint8) {
		run := func(n int) string {
			p := newLlama3Parser(toolcall.NewIDs())
			var b strings.Builder
			add := func(items []toolcall.Item) {
				for _, it := range items {
					if it.Call != nil {
						if !json.Valid(it.Call.Input) || it.Call.Name == "" {
							t.Fatalf("bad call %+v from %q", it.Call, s)
						}
						fmt.Fprintf(&b, "\x00call %s %s\x00", it.Call.Name, it.Call.Input)
					} else {
						b.WriteString(it.Text)
					}
				}
			}
			if n <= 0 {
				n = len(s) + 1
			}
			for i := 0; i < len(s); i += n {
				add(p.Push(s[i:min(i+n, len(s))]))
			}
			add(p.Flush())
			return b.String()
		}
		if whole, pieces := run(0), run(int(cut%16)); whole != pieces {
			t.Errorf("%q: whole %q, pieces of %d %q", s, whole, cut%16, pieces)
		}
	})
}
