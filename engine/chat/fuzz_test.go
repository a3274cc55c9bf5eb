package chat

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// fuzzConversation builds a conversation from fuzz input: plan picks the
// kind of each of up to eight messages, two bits each.
func fuzzConversation(plan uint16, flags uint8, a, b, input, schema string) (Conversation, Options) {
	conv := Conversation{}
	if flags&1 != 0 {
		conv.System = a
	}
	if flags&2 != 0 {
		conv.Tools = []llm.ToolDef{{Name: "tool_" + fuzzName(b), Description: b, InputSchema: json.RawMessage(schema)}}
	}
	id := 0
	for i := range 8 {
		switch (plan >> (2 * i)) & 3 {
		case 0:
			conv.Messages = append(conv.Messages, llm.UserMessage(a))
		case 1:
			m := llm.AssistantMessage(b)
			if flags&4 != 0 {
				m.Reasoning = a
			}
			conv.Messages = append(conv.Messages, m)
		case 2:
			id++
			conv.Messages = append(conv.Messages, llm.ToolUseMessage(llm.ToolCall{ID: "c" + itoa(id), Name: "tool_" + fuzzName(a), Input: json.RawMessage(input)}))
		case 3:
			conv.Messages = append(conv.Messages, llm.ToolResultMessage(llm.ToolResult{ToolUseID: "c" + itoa(id), Content: b}))
		}
		if plan>>(2*i+2) == 0 {
			break
		}
	}
	opts := Options{AddGenerationPrompt: flags&8 != 0, Date: goldenDate}
	if flags&16 != 0 {
		opts.EnableThinking = new(flags&32 != 0)
	}
	return conv, opts
}

// fuzzName keeps tool names to what a tool name can be.
func fuzzName(s string) string {
	out := make([]byte, 0, 8)
	for i := 0; i < len(s) && len(out) < 8; i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
			out = append(out, c)
		}
	}
	return string(out)
}

var fuzzTemplates = sync.OnceValue(func() map[string][2]Template {
	out := map[string][2]Template{}
	for _, tut := range officialTemplates {
		data := readTemplateNoT(tut.file)
		jt, err := newJinja(data, tut.specials)
		if err != nil {
			panic(err)
		}
		out[tut.file] = [2]Template{newHandWritten(tut.family, data, tut.specials), jt}
	}
	return out
})

// FuzzRender renders arbitrary conversations with every hand-written
// renderer and with the official templates through the Jinja engine: no
// panics, well-formed content spans, and the two agree whenever both
// render.
func FuzzRender(f *testing.F) {
	f.Add(uint16(0b11_10_00), uint8(0b1111), "Hello", "World", `{"path":"a.go"}`, `{"type":"object"}`)
	f.Add(uint16(0b01_00_01_00), uint8(0b101101), "<think>x</think>y", " spaced \n", `{}`, `{}`)
	f.Add(uint16(0b11_11_10_10_01_00), uint8(0b11110), "é\u2028\x1c", "<|im_end|>", `[1,2]`, `{"a":[1e400]}`)
	f.Add(uint16(0), uint8(0), "", "", "", "")
	f.Add(uint16(0b00_11_10), uint8(0b1010), "<tool_response>", "</tool_response>", `{"k":"\ud800"}`, `null`)
	f.Fuzz(func(t *testing.T, plan uint16, flags uint8, a, b, input, schema string) {
		conv, opts := fuzzConversation(plan, flags, a, b, input, schema)
		chat := newChatML(Specials{})
		if p, err := chat.Render(conv, opts); err == nil {
			checkSpans(t, p)
		}
		for file, pair := range fuzzTemplates() {
			hand, jinja := pair[0], pair[1]
			hp, herr := hand.Render(conv, opts)
			jp, jerr := jinja.Render(conv, opts)
			if herr == nil {
				checkSpans(t, hp)
			}
			if herr == nil && jerr == nil && hp.Text != jp.Text {
				t.Fatalf("%s: hand-written and Jinja renders differ:\n%s", file, diff(jp.Text, hp.Text))
			}
		}
	})
}

func checkSpans(t *testing.T, p Prompt) {
	t.Helper()
	last := 0
	for _, s := range p.Content {
		if s.Start < last || s.End <= s.Start || s.End > len(p.Text) {
			t.Fatalf("bad span %+v after %d in %d bytes", s, last, len(p.Text))
		}
		last = s.End
	}
}

// FuzzParse feeds arbitrary text as a chat template: Parse and Render
// must return errors, not panic.
func FuzzParse(f *testing.F) {
	// Small real templates as seeds: Parse of a big one that still looks
	// like a known family runs every probe twice, too slow to fuzz well.
	for _, file := range []string{"microsoft-phi-3.5-mini-instruct.jinja", "google-gemma-2-2b-it.jinja", "meta-llama-llama-2-13b-chat.jinja"} {
		f.Add(readTemplateNoT(file))
	}
	f.Add(`{{ messages[-1]['content'] | trim }}{% for k, v in tools[0] | items %}{{ k }}{% endfor %}`)
	f.Add(`{% set ns = namespace(a=1) %}{{ ns.a }}{{ "x".split()[-1] }}{{ raise_exception("boom") }}`)
	for _, src := range hostileTemplates {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		// The evaluation budget bounds the work; a hang is caught by the
		// test binary's own timeout.
		tpl, err := Parse(src, Specials{BOS: "<s>", EOS: "</s>"})
		if err != nil {
			checkLimitError(t, err)
			return
		}
		conv, opts := fuzzConversation(0b11_10_01_00, 0b1111, "Hi", "Yo", `{"a":1}`, `{"type":"object"}`)
		if p, err := tpl.Render(conv, opts); err == nil {
			checkSpans(t, p)
		} else {
			checkLimitError(t, err)
		}
	})
}

// checkLimitError: an error that says the budget was exceeded is a
// *LimitError inside a *TemplateError.
func checkLimitError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrTemplateLimit) {
		return
	}
	var limit *LimitError
	var tplErr *TemplateError
	if !errors.As(err, &limit) || !errors.As(err, &tplErr) {
		t.Fatalf("%v: a budget error that is not a *LimitError in a *TemplateError", err)
	}
}

// hostileShapes are the shapes of templates that recurse, loop or build
// without bound; FuzzTemplateBudget fills them with fuzzed numbers and
// text and nests them.
var hostileShapes = []string{
	`{% macro f(g) %}{{ g(g) }}%s{% endmacro %}{{ f(f) }}`,
	`{% macro m() %}{# endmacro #}%s{{ m() }}{% endmacro %}{{ m() }}`,
	`{% macro m() %}%s{{ a() }}{% endmacro %}{% set a = m %}{{ m() }}`,
	`{% macro m(n) %}{% if n > 0 %}%s{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(%d) }}`,
	`{% macro m() %}{% call m() %}%s{% endcall %}{{ caller() }}{% endmacro %}{{ m() }}`,
	`{% for x in [1] recursive %}%s{{ loop(range(%d)) }}{% endfor %}`,
	`{% set s = '%s' * %d %}{{ s }}`,
	`{% set ns = namespace(s='%s') %}{% for i in range(%d) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}`,
	`{% set ns = namespace(s='%s') %}{% for i in range(%d) %}{% set ns.s = ns.s ~ ns.s ~ ns.s %}{% endfor %}`,
	`{% set ns = namespace(l=['%s']) %}{% for i in range(%d) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}{{ ns.l | tojson }}`,
	`{% set ns = namespace(l=['%s']) %}{% for i in range(%d) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | join('%s') }}`,
	`{% for i in range(%d) %}{% for j in range(%d) %}%s{% endfor %}{% endfor %}`,
	`{{ '%s'.ljust(%d) }}{{ '%s' | center(%d) }}{{ '%s' | indent(%d) }}`,
	`{{ '%%%ds' | format('%s') }}{{ '{:>%d}'.format('%s') }}`,
	`{% set ns = namespace(x=1) %}{% set ns.x = ns %}{{ ns }}%s`,
	`{% set s %}{% for i in range(%d) %}%s{% endfor %}{% endset %}{{ s }}`,
	`{% for m in messages %}{{ m.content * %d }}%s{% endfor %}`,
	`{{ [1, 2] | slice(%d) }}{{ ['%s'] | batch(%d, 'x') }}{{ 1.5 | round(%d) }}`,
	`{% block b %}%s{{ self.b() }}{% endblock %}`,
	`{% set s = '%s' * %d %}{% for i in range(%d) %}{% if s == s ~ '' or 'q' in s %}{% endif %}{{ s.replace('a', 'b') | length }}{% endfor %}`,
}

// FuzzTemplateBudget renders hostile shapes, filled and nested by the
// fuzzer: each renders or fails with an error (a budget error typed as
// such), never crashes, hangs or runs out of memory.
func FuzzTemplateBudget(f *testing.F) {
	f.Add(uint8(0), uint8(1), int64(3), int64(65536), "x")
	f.Add(uint8(6), uint8(11), int64(2000000000), int64(40), "ab")
	f.Add(uint8(9), uint8(7), int64(60), int64(-1), "<|im_start|>")
	f.Add(uint8(3), uint8(13), int64(5000), int64(1<<40), "%s")
	f.Fuzz(func(t *testing.T, outer, inner uint8, n, m int64, text string) {
		if len(text) > 64 {
			return
		}
		fill := func(shape string, body string) string {
			var b strings.Builder
			nums := []int64{n, m}
			for i := 0; i < len(shape); i++ {
				if shape[i] != '%' || i+1 == len(shape) {
					b.WriteByte(shape[i])
					continue
				}
				i++
				switch shape[i] {
				case 'd':
					b.WriteString(strconv.FormatInt(nums[0], 10))
					nums = append(nums[1:], nums[0])
				case 's':
					b.WriteString(body)
					body = strings.NewReplacer("'", "", "{", "", "}", "", "%", "").Replace(text)
				default:
					b.WriteByte(shape[i])
				}
			}
			return b.String()
		}
		clean := strings.NewReplacer("'", "", "{", "", "}", "", "%", "").Replace(text)
		src := fill(hostileShapes[int(outer)%len(hostileShapes)], fill(hostileShapes[int(inner)%len(hostileShapes)], clean))
		tpl, err := Parse(src, Specials{BOS: "<s>", EOS: "</s>"})
		if err != nil {
			checkLimitError(t, err)
			return
		}
		conv, opts := fuzzConversation(0b01_00, 0b1001, text, text, `{}`, `{}`)
		if p, err := tpl.Render(conv, opts); err == nil {
			checkSpans(t, p)
		} else {
			checkLimitError(t, err)
		}
	})
}
