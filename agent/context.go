package agent

import (
	"fmt"

	"github.com/tetherllm/tether/llm"
)

// Token counts here are estimates, not a tokenizer's counts: a quarter of
// the bytes, rounded up, plus 4 for each message's role and delimiters.
// English and code average about four bytes a token; the estimate decides
// only which old messages are left out of a request, and the driver still
// refuses a request that does not fit with a typed error.
const (
	bytesPerToken    = 4
	tokensPerMessage = 4
)

// estimateText estimates the tokens of a text.
func estimateText(s string) int {
	return (len(s) + bytesPerToken - 1) / bytesPerToken
}

// estimateMessage estimates the tokens of one message: everything the
// driver renders of it, plus its overhead.
func estimateMessage(m llm.Message) int {
	n := len(m.Content) + len(m.Reasoning)
	for _, c := range m.ToolCalls {
		n += len(c.ID) + len(c.Name) + len(c.Input)
	}
	if r := m.ToolResult; r != nil {
		n += len(r.ToolUseID) + len(r.Name) + len(r.Content)
	}
	return (n+bytesPerToken-1)/bytesPerToken + tokensPerMessage
}

func estimateMessages(ms []llm.Message) int {
	n := 0
	for _, m := range ms {
		n += estimateMessage(m)
	}
	return n
}

// fitContext returns the messages of a request: as much of history as
// fits in available tokens, newest first, followed by all of turn (the
// user's query and the work done for it so far), which is never left out.
//
// History is cut only between groups, a group being a message with the
// tool messages that follow it, so an assistant turn keeps its tool
// results (APIs refuse a result whose call is missing) and a result never
// loses its call. What is kept is the newest part of history, without
// holes: the model reads a conversation that happened, not a collage of
// it. When turn alone does not fit, the error is an
// *llm.ContextOverflowError and nothing is sent: a request without the
// query cannot be answered. The second result is how many messages of
// history were left out.
func fitContext(history, turn []llm.Message, available int) ([]llm.Message, int, error) {
	need := estimateMessages(turn)
	if need > available {
		return nil, 0, &llm.ContextOverflowError{Required: need, Available: max(available, 0),
			Message: fmt.Sprintf("the query and this turn's work need about %d tokens, the window leaves %d", need, max(available, 0))}
	}
	all := make([]llm.Message, 0, len(history)+len(turn))
	start := len(history)
	for start > 0 {
		g := groupStart(history, start)
		n := estimateMessages(history[g:start])
		if need+n > available {
			break
		}
		need += n
		start = g
	}
	return append(append(all, history[start:]...), turn...), start, nil
}

// groupStart returns where the group that ends at end (exclusive) begins:
// at the last message before end that is not a tool result. Tool results
// at the very start of history, whose call is already gone, form a group
// of their own.
func groupStart(history []llm.Message, end int) int {
	i := end - 1
	for i > 0 && history[i].Role == llm.RoleTool {
		i--
	}
	return i
}
