package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/internal/oaiwire"
	"github.com/tetherllm/tether/llm"
)

// nativeCall is a native tool call being put together from its fragments.
type nativeCall struct {
	id      string
	name    string
	args    strings.Builder // argument fragments, concatenated as sent
	object  json.RawMessage // arguments a server sent as an object
	started bool            // its start event has been emitted
}

// callAccumulator merges streamed tool-call fragments. Fragments with an
// index belong to the call with that index (OpenAI, llama.cpp, vLLM);
// the id and name come from the first fragment that has them, and the
// argument strings are concatenated as they are, to be checked as JSON
// only at the end (a fragment alone is rarely valid JSON, and parsing
// each one loses arguments). Fragments without an index (some ollama versions send
// each call whole, without one) start a new call when they carry a new id,
// or a name after a call that already has arguments.
type callAccumulator struct {
	calls   []*nativeCall
	byIndex map[int]*nativeCall
}

// add merges one fragment and returns its call.
func (a *callAccumulator) add(d *oaiwire.ToolCall) *nativeCall {
	var c *nativeCall
	if d.Index != nil {
		c = a.byIndex[*d.Index]
		if c == nil {
			if a.byIndex == nil {
				a.byIndex = make(map[int]*nativeCall)
			}
			c = &nativeCall{}
			a.byIndex[*d.Index] = c
			a.calls = append(a.calls, c)
		}
	} else {
		if n := len(a.calls); n > 0 {
			last := a.calls[n-1]
			newID := d.ID != "" && last.id != "" && d.ID != last.id
			newName := d.Function.Name != "" && last.name != "" && (last.args.Len() > 0 || last.object != nil)
			if !newID && !newName {
				c = last
			}
		}
		if c == nil {
			c = &nativeCall{}
			a.calls = append(a.calls, c)
		}
	}
	if c.id == "" {
		c.id = d.ID
	}
	if c.name == "" {
		c.name = d.Function.Name
	}
	if args := d.Function.Arguments; args.Object != nil {
		c.object = append(c.object[:0], args.Object...)
	} else {
		c.args.WriteString(args.Text)
	}
	return c
}

// finish checks every call and returns them in order. Empty arguments
// become {} (servers send "" for tools without parameters); arguments
// that are not JSON are a ProtocolError naming the tool, since running a
// tool on a guess is worse than failing. A string holding an object
// (arguments encoded twice) is unwrapped.
func (a *callAccumulator) finish() ([]llm.ToolCall, error) {
	calls := make([]llm.ToolCall, 0, len(a.calls))
	for i, c := range a.calls {
		if c.name == "" {
			return nil, &llm.ProtocolError{Reason: fmt.Sprintf("tool call %d has no name", i)}
		}
		raw := []byte(strings.TrimSpace(c.args.String()))
		if len(raw) == 0 {
			raw = c.object
		}
		input, err := callInput(raw)
		if err != nil {
			return nil, &llm.ProtocolError{Reason: fmt.Sprintf("tool call %q: arguments are not valid JSON: %s", c.name, httpapi.Snippet(raw)), Err: err}
		}
		calls = append(calls, llm.ToolCall{ID: c.id, Name: c.name, Input: input})
	}
	return calls, nil
}

func callInput(raw []byte) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if inner := strings.TrimSpace(s); strings.HasPrefix(inner, "{") && json.Valid([]byte(inner)) {
			raw = []byte(inner)
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
