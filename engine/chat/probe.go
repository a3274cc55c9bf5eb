package chat

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tetherllm/tether/llm"
)

// The probes are small conversations that exercise what the hand-written
// renderers implement. Parse renders them with both the hand-written
// renderer and the template itself and keeps the hand-written one only if
// every probe comes out the same (or fails on both).

var probeDate = time.Date(2025, time.March, 5, 12, 0, 0, 0, time.UTC)

func probeCall(id, name, input string) llm.Message {
	return llm.ToolUseMessage(llm.ToolCall{ID: id, Name: name, Input: json.RawMessage(input)})
}

func probeResult(id, name, content string) llm.Message {
	return llm.ToolResultMessage(llm.ToolResult{ToolUseID: id, Name: name, Content: content})
}

var probeTools = []llm.ToolDef{
	{Name: "read_file", Description: "Read a file.", InputSchema: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string","description":"Path to read"}},"required":["path"]}`)},
	{Name: "grep", Description: "Search file contents.", InputSchema: json.RawMessage(`{"type":"object","properties":{"pattern":{"type":"string"},"path":{"type":"string"}},"required":["pattern"]}`)},
}

func probeConversations() []Conversation {
	yes := []llm.Message{llm.UserMessage("Hello")}
	return []Conversation{
		{Messages: yes},
		{System: " You are terse.\n", Messages: []llm.Message{
			llm.UserMessage("  Hi there \n"), llm.AssistantMessage("Hello! "), llm.UserMessage("Café ☕ and\ttabs"),
		}},
		{System: "Use tools.", Tools: probeTools, Messages: []llm.Message{
			llm.UserMessage("Find TODOs"),
			probeCall("abcdefghi", "grep", `{"pattern":"TODO","path":"src/"}`),
			probeResult("abcdefghi", "grep", "src/main.go:3: // TODO"),
			llm.AssistantMessage("One TODO in src/main.go."),
			llm.UserMessage("Read it"),
		}},
		{Tools: probeTools, Messages: []llm.Message{
			llm.UserMessage("Read a and b"),
			llm.AssistantMessage("Reading both."),
			probeCall("call00001", "read_file", `{"path":"a.txt"}`),
			probeCall("call00002", "read_file", `{"path":"b.txt","n":1.5e3}`),
			probeResult("call00001", "read_file", "alpha"),
			probeResult("call00002", "read_file", "beta"),
		}},
		{Messages: []llm.Message{
			llm.UserMessage("2+2?"),
			{Role: llm.RoleAssistant, Content: "4", Reasoning: "Two plus two."},
			llm.UserMessage("3+3?"),
			llm.AssistantMessage("<think>\nThree and three.\n</think>\n\n6"),
			probeCall("call00003", "grep", `{"pattern":"x"}`),
			probeResult("call00003", "grep", "none"),
		}},
	}
}

var probeOptions = []Options{
	{AddGenerationPrompt: true, Date: probeDate},
	{AddGenerationPrompt: false, Date: probeDate},
	{AddGenerationPrompt: true, EnableThinking: new(false), Date: probeDate},
}

// agree reports the first probe on which two templates differ.
func agree(a, b Template) error {
	for i, conv := range probeConversations() {
		for j, opts := range probeOptions {
			pa, errA := a.Render(conv, opts)
			pb, errB := b.Render(conv, opts)
			switch {
			case errA != nil && errB != nil:
			case errA != nil || errB != nil:
				return fmt.Errorf("chat: probe %d/%d: %v versus %v", i, j, errA, errB)
			case pa.Text != pb.Text:
				return fmt.Errorf("chat: probe %d/%d renders differently", i, j)
			}
		}
	}
	return nil
}

// probeToolConversation is a user question, one tool call and its result.
// The call id has 9 letters and digits, as Mistral's templates demand.
func probeToolConversation(toolName, argKey, argVal string) []llm.Message {
	return []llm.Message{
		llm.UserMessage("What is the weather?"),
		probeCall("abcdefghi", toolName, fmt.Sprintf(`{%q: %q}`, argKey, argVal)),
		probeResult("abcdefghi", toolName, "sunny"),
	}
}
