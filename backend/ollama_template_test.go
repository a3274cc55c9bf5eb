package backend

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
)

// The values ollama (v0.17) executes a chat template with, as far as the
// templates read them: its template package's message, tool-call and
// argument types, the "json" function, and missingkey=zero.

type ollamaArgs map[string]any

func (a ollamaArgs) String() string { b, _ := json.Marshal(a); return string(b) }

type ollamaCallFunc struct {
	Name      string
	Arguments ollamaArgs
}

type ollamaTmplCall struct{ Function ollamaCallFunc }

type ollamaMessage struct {
	Role, Content, Thinking string
	ToolCalls               []ollamaTmplCall
}

// ollamaRender executes tmpl on conv the way ollama's chat route does for
// the request tether's wire client sends: the system prompt as a first
// system message (kept in Messages and also given as System), the calls
// of one assistant turn in one message, tool results as tool messages.
func ollamaRender(t *testing.T, tmpl string, conv chat.Conversation, think *bool) string {
	t.Helper()
	tp, err := template.New("").Option("missingkey=zero").Funcs(template.FuncMap{
		"json":        func(v any) string { b, _ := json.Marshal(v); return string(b) },
		"currentDate": func(...string) string { return "2024-07-26" },
	}).Parse(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []ollamaMessage
	if conv.System != "" {
		msgs = append(msgs, ollamaMessage{Role: "system", Content: conv.System})
	}
	for _, m := range conv.Messages {
		switch {
		case len(m.ToolCalls) > 0:
			var calls []ollamaTmplCall
			for _, tc := range m.ToolCalls {
				var args ollamaArgs
				if err := json.Unmarshal(tc.Input, &args); err != nil {
					t.Fatal(err)
				}
				calls = append(calls, ollamaTmplCall{ollamaCallFunc{Name: tc.Name, Arguments: args}})
			}
			if last := len(msgs) - 1; last >= 0 && msgs[last].Role == "assistant" && m.Content == "" {
				msgs[last].ToolCalls = append(msgs[last].ToolCalls, calls...)
				continue
			}
			msgs = append(msgs, ollamaMessage{Role: "assistant", Content: m.Content, ToolCalls: calls})
		case m.ToolResult != nil:
			msgs = append(msgs, ollamaMessage{Role: "tool", Content: m.ToolResult.Content})
		default:
			msgs = append(msgs, ollamaMessage{Role: string(m.Role), Content: m.Content})
		}
	}
	var tools []any
	for _, td := range conv.Tools {
		tools = append(tools, map[string]any{"type": "function", "function": map[string]any{
			"name": td.Name, "description": td.Description, "parameters": td.InputSchema}})
	}
	values := map[string]any{"System": conv.System, "Messages": msgs, "Tools": tools, "Response": "",
		"Think": think != nil && *think, "IsThinkSet": think != nil}
	var b bytes.Buffer
	if err := tp.Execute(&b, values); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	toolsBlock   = regexp.MustCompile(`(?s)<tools>.*?</tools>`)
	llama3Tools  = regexp.MustCompile(`(?s)Do not use variables\.\n\n.*\}\n\n`)
	llama3Date   = regexp.MustCompile(`Today Date: [^\n]*\n`)
	hermesArgs   = regexp.MustCompile(`"arguments": (\{[^\n]*\})\}\n</tool_call>`)
	llama3Params = regexp.MustCompile(`"parameters": (\{[^\n]*?\})\}<\|eot_id\|>`)
)

// comparable blanks out what legitimately differs between the Jinja and
// the Go rendering: JSON spacing, indentation and key order (Python's
// tojson against Go's encoding/json) in the tool list and in call
// arguments, the date's format, and the beginning-of-text token, which
// the tokenizer adds for ollama.
func comparable(t *testing.T, s string) string {
	s = strings.TrimPrefix(s, "<|begin_of_text|>")
	s = toolsBlock.ReplaceAllString(s, "<tools>TOOLS</tools>")
	s = llama3Tools.ReplaceAllString(s, "Do not use variables.\n\nTOOLS\n\n")
	s = llama3Date.ReplaceAllString(s, "Today Date: DATE\n")
	for _, re := range []*regexp.Regexp{hermesArgs, llama3Params} {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatchIndex(m)
			var v any
			if err := json.Unmarshal([]byte(m[sub[2]:sub[3]]), &v); err != nil {
				t.Fatalf("arguments %s: %v", m[sub[2]:sub[3]], err)
			}
			b, _ := json.Marshal(v)
			return m[:sub[2]] + string(b) + m[sub[3]:]
		})
	}
	return s
}

// TestOllamaTemplatesRenderAsTheGGUFs renders conversations with the
// official Jinja templates (through tether's own chat package) and with
// their Go translations for ollama: the prompts must be the same text.
func TestOllamaTemplatesRenderAsTheGGUFs(t *testing.T) {
	weather := llm.ToolDef{Name: "get_weather", Description: "Weather in a city",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
	call := func(id, city string) llm.Message {
		return llm.ToolUseMessage(llm.ToolCall{ID: id, Name: "get_weather", Input: json.RawMessage(`{"city":"` + city + `"}`)})
	}
	result := func(id, text string) llm.Message {
		return llm.ToolResultMessage(llm.ToolResult{ToolUseID: id, Content: text})
	}
	convs := map[string]chat.Conversation{
		"one turn":        {Messages: []llm.Message{llm.UserMessage("Hi")}},
		"system, 2 turns": {System: "Be brief.", Messages: []llm.Message{llm.UserMessage("Hi"), llm.AssistantMessage("Hello."), llm.UserMessage("Bye")}},
		"tools":           {Tools: []llm.ToolDef{weather}, Messages: []llm.Message{llm.UserMessage("Weather in Paris?")}},
		"system, tools, a call and its result": {System: "Be brief.", Tools: []llm.ToolDef{weather},
			Messages: []llm.Message{llm.UserMessage("Weather in Paris?"), call("a", "Paris"), result("a", "18C")}},
		"two calls and their results": {Tools: []llm.ToolDef{weather},
			Messages: []llm.Message{llm.UserMessage("Paris and Rome?"), call("a", "Paris"), call("b", "Rome"),
				result("a", "18C"), result("b", "25C"), llm.UserMessage("Thanks")}},
	}
	off := false
	date := time.Date(2024, 7, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		template, family, gotmpl string
		think                    *bool
	}{
		{"qwen25", chat.FamilyQwen25, ollamaQwen25, nil},
		{"qwen3", chat.FamilyQwen3, ollamaQwen3, nil},
		{"qwen3", chat.FamilyQwen3, ollamaQwen3, &off},
		{"llama3", chat.FamilyLlama3, ollamaLlama3, nil},
	} {
		jinja := testmodel.Template(t, c.template)
		if got := chat.Detect(jinja); got != c.family {
			t.Fatalf("%s detected as %q", c.template, got)
		}
		tp, err := chat.Parse(jinja, chat.Specials{})
		if err != nil {
			t.Fatal(err)
		}
		for name, conv := range convs {
			if c.family == chat.FamilyLlama3 && name == "two calls and their results" {
				continue // Llama 3.2 makes one call a turn
			}
			want, err := tp.Render(conv, chat.Options{AddGenerationPrompt: true, EnableThinking: c.think, Date: date})
			if err != nil {
				t.Fatalf("%s, %s: %v", c.template, name, err)
			}
			got := ollamaRender(t, c.gotmpl, conv, c.think)
			if comparable(t, got) != comparable(t, want.Text) {
				t.Errorf("%s (thinking off %v), %s:\nollama's:\n%s\nthe GGUF's:\n%s", c.template, c.think != nil, name, comparable(t, got), comparable(t, want.Text))
			}
			if len(conv.Tools) > 0 && !strings.Contains(got, "\n{\"function\":{\"description\":\"Weather in a city\",\"name\":\"get_weather\"") {
				t.Errorf("%s, %s: tools not listed as JSON:\n%s", c.template, name, got)
			}
		}
	}
}
