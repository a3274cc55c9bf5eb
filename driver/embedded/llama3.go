package embedded

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// llama3Parser reads Llama 3.x's tool calls: an answer that is one or
// more bare JSON objects {"name": …, "parameters": {…}} (the
// <|python_tag|> before them is a control token and never reaches the
// text), separated by white space or ";". An answer that does not start
// with "{" is text from its first byte; an object that is not a call
// turns the rest of the answer into text. Text is released as soon as it
// is known not to be a call; a call once its object is complete.
type llama3Parser struct {
	ids   *toolcall.IDs
	state llama3State
	buf   strings.Builder // the undecided output: white space, or an object being read
	scan  braceScan
	calls int
}

type llama3State int

const (
	// llama3Start: only white space (and, after a call, ";") so far.
	llama3Start llama3State = iota
	// llama3Object: reading an object that may be a call.
	llama3Object
	// llama3Text: the rest of the answer is text.
	llama3Text
)

func newLlama3Parser(ids *toolcall.IDs) *llama3Parser { return &llama3Parser{ids: ids} }

func (p *llama3Parser) Push(s string) []toolcall.Item {
	var out []toolcall.Item
	for s != "" {
		switch p.state {
		case llama3Text:
			return append(out, toolcall.Item{Text: s})
		case llama3Start:
			i := strings.IndexFunc(s, func(r rune) bool { return !isSpace(r) && (r != ';' || p.calls == 0) })
			if i < 0 {
				p.buf.WriteString(s)
				return out
			}
			if s[i] != '{' {
				p.state = llama3Text
				text := p.buf.String() + s
				if p.calls > 0 {
					text = s[i:] // the separator after a call is not text
				}
				p.buf.Reset()
				return append(out, toolcall.Item{Text: text})
			}
			p.buf.Reset() // white space between calls is not text
			p.state, p.scan = llama3Object, braceScan{}
			s = s[i:]
		case llama3Object:
			n, done := p.scan.feed(s)
			p.buf.WriteString(s[:n])
			s = s[n:]
			if !done {
				return out
			}
			obj := p.buf.String()
			p.buf.Reset()
			call, ok := llama3Call(obj, p.ids)
			if !ok {
				p.state = llama3Text
				out = append(out, toolcall.Item{Text: obj})
				continue
			}
			out = append(out, toolcall.Item{Call: &call})
			p.state = llama3Start
			p.calls++
		}
	}
	return out
}

// Flush releases an object left open as text; trailing white space is
// dropped.
func (p *llama3Parser) Flush() []toolcall.Item {
	defer p.buf.Reset()
	if p.state == llama3Object && p.buf.Len() > 0 {
		p.state = llama3Text
		return []toolcall.Item{{Text: p.buf.String()}}
	}
	return nil
}

// llama3Call reads one object as a call: a non-empty string "name" and
// arguments under "parameters" or "arguments" (an object, or a string
// holding one; missing means {}).
func llama3Call(obj string, ids *toolcall.IDs) (llm.ToolCall, bool) {
	var v struct {
		Name       *string         `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
		Arguments  json.RawMessage `json:"arguments"`
	}
	if json.Unmarshal([]byte(obj), &v) != nil || v.Name == nil || strings.TrimSpace(*v.Name) == "" {
		return llm.ToolCall{}, false
	}
	args := v.Parameters
	if len(args) == 0 {
		args = v.Arguments
	}
	input, ok := objectInput(args)
	if !ok {
		return llm.ToolCall{}, false
	}
	return llm.ToolCall{ID: ids.Next(), Name: *v.Name, Input: input}, true
}

// objectInput accepts an object, null or nothing (as {}), or a string
// holding an object, and returns the object compacted.
func objectInput(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), true
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, false
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil, false
	}
	return b.Bytes(), true
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// braceScan finds the end of a JSON object read in pieces: the closing
// brace that balances the first opening one, outside strings.
type braceScan struct {
	depth    int
	inString bool
	escaped  bool
}

// feed reads s and returns how many of its bytes belong to the object
// and whether the object is complete.
func (b *braceScan) feed(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case b.inString:
			switch {
			case b.escaped:
				b.escaped = false
			case c == '\\':
				b.escaped = true
			case c == '"':
				b.inString = false
			}
		case c == '"':
			b.inString = true
		case c == '{' || c == '[':
			b.depth++
		case c == '}' || c == ']':
			b.depth--
			if b.depth <= 0 {
				return i + 1, true
			}
		}
	}
	return len(s), false
}
