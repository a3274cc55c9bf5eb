package chat

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

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
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			tpl, err := Parse(src, Specials{BOS: "<s>", EOS: "</s>"})
			if err != nil {
				return
			}
			conv, opts := fuzzConversation(0b11_10_01_00, 0b1111, "Hi", "Yo", `{"a":1}`, `{"type":"object"}`)
			if p, err := tpl.Render(conv, opts); err == nil {
				checkSpans(t, p)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Parse and Render of %q did not finish", src)
		}
	})
}
