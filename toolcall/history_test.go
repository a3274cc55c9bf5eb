package toolcall

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestRenderHistory(t *testing.T) {
	call := func(id, name string) llm.ToolCall {
		return llm.ToolCall{ID: id, Name: name, Input: json.RawMessage(`{}`)}
	}
	got := RenderHistory([]llm.Message{
		llm.UserMessage("go"),
		{Role: llm.RoleAssistant, Content: "looking", Reasoning: "hmm"},
		llm.ToolUseMessage(call("1", "a")),
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "1", Name: "a", Content: "x", IsError: true}),
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "2", Content: "y"}),
		{Role: llm.RoleAssistant, Content: "two at once", ToolCalls: []llm.ToolCall{call("3", "b"), call("4", "c")}},
		llm.ToolResultMessage(llm.ToolResult{ToolUseID: "3", Content: "z"}),
		llm.AssistantMessage("done"),
	})
	want := []llm.Message{
		llm.UserMessage("go"),
		{Role: llm.RoleAssistant, Content: "looking\n\n<tool_call>\n{\"name\":\"a\",\"input\":{}}\n</tool_call>", Reasoning: "hmm"},
		llm.UserMessage("<tool_result name=\"a\" error=\"true\">\nx\n</tool_result>\n\n<tool_result>\ny\n</tool_result>"),
		llm.AssistantMessage("two at once\n\n<tool_call>\n{\"name\":\"b\",\"input\":{}}\n</tool_call>\n\n<tool_call>\n{\"name\":\"c\",\"input\":{}}\n</tool_call>"),
		llm.UserMessage("<tool_result>\nz\n</tool_result>"),
		llm.AssistantMessage("done"),
	}
	if !slices.EqualFunc(got, want, func(a, b llm.Message) bool {
		return a.Role == b.Role && a.Content == b.Content && a.Reasoning == b.Reasoning && a.ToolCalls == nil && a.ToolResult == nil
	}) {
		t.Errorf("RenderHistory:\n got %+v\nwant %+v", got, want)
	}
}
