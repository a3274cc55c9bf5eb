package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tetherllm/tether/llm"
)

const (
	callOpen   = "<tool_call>"
	callClose  = "</tool_call>"
	fenceOpen  = "```json"
	fenceClose = "```"
)

// form is one of the two block forms a call can take.
type form struct{ open, close string }

var (
	tagForm   = form{callOpen, callClose}
	fenceForm = form{fenceOpen, fenceClose}
)

// Item is one piece of parsed output, in order: text, or a call.
type Item struct {
	Text string
	Call *llm.ToolCall
}

// Parse finds the tool calls in a model's text. It returns the text
// without them, trimmed (the pieces around the calls are joined as they
// are, as the seed does), and the calls in order, with ids from ids (see
// [IDs] for a nil ids).
//
// A block is a call if, after white space, it holds one JSON object with a
// non-empty string "name", followed by white space and then the block's
// closer (</tool_call> or ```), the end of the text, or the next
// <tool_call>. The input is the first of "input", "arguments" and
// "parameters" that is present: an object, null (read as {}), or a string
// holding an object; it is {} when none is present. Any other block stays
// in the text: a <tool_call> block up to and including its </tool_call>,
// or up to the next <tool_call> if that comes first, or to the end; a
// ```json block up to and including its closing fence, or to the end.
// Parsing continues after it.
func Parse(text string, ids *IDs) (rest string, calls []llm.ToolCall) {
	var b strings.Builder
	for _, it := range parseItems(text, &seedIDs{ids: ids}) {
		if it.Call != nil {
			calls = append(calls, *it.Call)
		} else {
			b.WriteString(it.Text)
		}
	}
	return strings.TrimSpace(b.String()), calls
}

// parseItems splits s into text and calls. It is the reference the
// streaming parser must agree with.
func parseItems(s string, ids *seedIDs) []Item {
	var items []Item
	text := func(t string) {
		if t != "" {
			items = append(items, Item{Text: t})
		}
	}
	for {
		o, f := nextOpener(s)
		if o < 0 {
			text(s)
			return items
		}
		text(s[:o])
		body := o + len(f.open)
		if call, end, ok := parseBlock(s, body, f); ok {
			call.ID = ids.next()
			items = append(items, Item{Call: &call})
			s = s[end:]
			continue
		}
		end, _ := malformedEnd(s, body, f, true)
		text(s[o:end])
		s = s[end:]
	}
}

// nextOpener finds the first block opener in s.
func nextOpener(s string) (int, form) {
	t, f := strings.Index(s, callOpen), strings.Index(s, fenceOpen)
	switch {
	case t >= 0 && (f < 0 || t < f):
		return t, tagForm
	case f >= 0:
		return f, fenceForm
	}
	return -1, form{}
}

// parseBlock reads the call of the complete text s whose block body starts
// at body, and where the block ends.
func parseBlock(s string, body int, f form) (call llm.ToolCall, end int, ok bool) {
	i := skipSpace(s, body)
	if i == len(s) || s[i] != '{' {
		return call, 0, false
	}
	dec := json.NewDecoder(strings.NewReader(s[i:]))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return call, 0, false
	}
	valueEnd := i + int(dec.InputOffset())
	if call, ok = callFrom(raw); !ok {
		return call, 0, false
	}
	j := skipSpace(s, valueEnd)
	switch {
	case strings.HasPrefix(s[j:], f.close):
		return call, j + len(f.close), true
	case j == len(s), strings.HasPrefix(s[j:], callOpen):
		return call, valueEnd, true // unclosed: ends at its JSON
	}
	return call, 0, false
}

// malformedEnd returns where a block that is not a call ends, given the
// text s seen so far. Unless final, s may be cut short: ok is false when
// more text could move the end.
func malformedEnd(s string, body int, f form, final bool) (end int, ok bool) {
	c := strings.Index(s[body:], f.close)
	if f == tagForm {
		// The earliest complete tag found is final: neither tag can
		// start earlier and still be incomplete, as the closer is the
		// longer and does not contain the opener.
		if n := strings.Index(s[body:], callOpen); n >= 0 && (c < 0 || n < c) {
			return body + n, true
		}
	}
	if c >= 0 {
		return body + c + len(f.close), true
	}
	return len(s), final
}

// callFrom reads a call from one JSON value.
func callFrom(raw []byte) (llm.ToolCall, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return llm.ToolCall{}, false
	}
	var name string
	if json.Unmarshal(obj["name"], &name) != nil || name == "" {
		return llm.ToolCall{}, false
	}
	input := json.RawMessage("{}")
	for _, key := range []string{"input", "arguments", "parameters"} {
		if v, present := obj[key]; present {
			var ok bool
			if input, ok = inputFrom(v); !ok {
				return llm.ToolCall{}, false
			}
			break
		}
	}
	return llm.ToolCall{Name: name, Input: input}, true
}

// inputFrom reads a call's input: an object, null, or a string holding an
// object (or nothing), as compact JSON.
func inputFrom(v json.RawMessage) (json.RawMessage, bool) {
	v = bytes.TrimSpace(v)
	switch {
	case string(v) == "null":
		return json.RawMessage("{}"), true
	case len(v) > 0 && v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return json.RawMessage("{}"), true
		}
		v = []byte(s)
		if v[0] != '{' || !json.Valid(v) {
			return nil, false
		}
	case len(v) == 0 || v[0] != '{':
		return nil, false
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// skipSpace skips JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
