package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strconv"
	"strings"
)

// maxSchemaDepth bounds how deeply a schema document may nest. It keeps the
// compiler's recursion, which follows the document, shallow.
const maxSchemaDepth = 64

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// jsonNode is a decoded JSON value that keeps what encoding/json's maps lose:
// the order of an object's members (properties are generated in schema
// order) and the JSON pointer of every value (errors name where they are).
type jsonNode struct {
	kind    jsonKind
	boolean bool
	text    string // a number's literal text, or a string's value
	items   []*jsonNode
	members []jsonMember
	path    string // JSON pointer within the schema document
}

type jsonMember struct {
	key   string
	value *jsonNode
}

// get returns the member named key of an object, or nil.
func (n *jsonNode) get(key string) *jsonNode {
	if n == nil || n.kind != jsonObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// rat returns a number's exact value.
func (n *jsonNode) rat() *big.Rat {
	r, ok := new(big.Rat).SetString(n.text)
	if !ok {
		return nil
	}
	return r
}

// pointerJoin appends one reference token to a JSON pointer (RFC 6901).
func pointerJoin(base, token string) string {
	token = strings.ReplaceAll(token, "~", "~0")
	token = strings.ReplaceAll(token, "/", "~1")
	return base + "/" + token
}

// decodeSchemaDocument parses a schema document, rejecting what JSON parsers
// disagree on (duplicate member names, trailing data) and nesting deeper
// than maxSchemaDepth.
func decodeSchemaDocument(data []byte) (*jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := decodeNode(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &SchemaError{Path: "", Reason: "data after the schema document"}
	}
	return n, nil
}

func decodeNode(dec *json.Decoder, path string, depth int) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, &SchemaError{Path: path, Reason: "invalid JSON: " + jsonErrorText(err)}
	}
	return decodeFrom(dec, tok, path, depth)
}

func jsonErrorText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func decodeFrom(dec *json.Decoder, tok json.Token, path string, depth int) (*jsonNode, error) {
	switch t := tok.(type) {
	case nil:
		return &jsonNode{kind: jsonNull, path: path}, nil
	case bool:
		return &jsonNode{kind: jsonBool, boolean: t, path: path}, nil
	case json.Number:
		return &jsonNode{kind: jsonNumber, text: string(t), path: path}, nil
	case string:
		return &jsonNode{kind: jsonString, text: t, path: path}, nil
	case json.Delim:
		if depth >= maxSchemaDepth {
			return nil, &SchemaError{Path: path, Reason: fmt.Sprintf("nested deeper than %d levels", maxSchemaDepth)}
		}
		switch t {
		case '[':
			n := &jsonNode{kind: jsonArray, path: path}
			for i := 0; ; i++ {
				tok, err := dec.Token()
				if err != nil {
					return nil, &SchemaError{Path: path, Reason: "invalid JSON: " + jsonErrorText(err)}
				}
				if d, ok := tok.(json.Delim); ok && d == ']' {
					return n, nil
				}
				item, err := decodeFrom(dec, tok, path+"/"+strconv.Itoa(i), depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
		case '{':
			n := &jsonNode{kind: jsonObject, path: path}
			for {
				tok, err := dec.Token()
				if err != nil {
					return nil, &SchemaError{Path: path, Reason: "invalid JSON: " + jsonErrorText(err)}
				}
				if d, ok := tok.(json.Delim); ok && d == '}' {
					return n, nil
				}
				key := tok.(string) // the decoder only yields strings as member names
				child := pointerJoin(path, key)
				if n.get(key) != nil {
					return nil, &SchemaError{Path: child, Reason: fmt.Sprintf("member %q appears twice", key)}
				}
				value, err := decodeNode(dec, child, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jsonMember{key: key, value: value})
			}
		}
	}
	return nil, &SchemaError{Path: path, Reason: fmt.Sprintf("invalid JSON token %v", tok)}
}

// resolvePointer finds the value a local reference ("#", "#/$defs/x")
// names within the document.
func resolvePointer(root *jsonNode, ref string) (*jsonNode, bool) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, false
	}
	if frag == "" {
		return root, true
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, false // a named anchor, not a pointer
	}
	n := root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.kind {
		case jsonObject:
			n = n.get(tok)
		case jsonArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.items) || strconv.Itoa(i) != tok {
				return nil, false
			}
			n = n.items[i]
		default:
			return nil, false
		}
		if n == nil {
			return nil, false
		}
	}
	return n, true
}

// canonicalJSON writes a value compactly, members in document order,
// strings as encoding/json writes them but without HTML escaping: the one
// spelling an enum or const value is generated in.
func canonicalJSON(n *jsonNode) string {
	var b strings.Builder
	writeCanonical(&b, n)
	return b.String()
}

func writeCanonical(b *strings.Builder, n *jsonNode) {
	switch n.kind {
	case jsonNull:
		b.WriteString("null")
	case jsonBool:
		b.WriteString(strconv.FormatBool(n.boolean))
	case jsonNumber:
		b.WriteString(n.text)
	case jsonString:
		b.WriteString(quoteJSON(n.text))
	case jsonArray:
		b.WriteByte('[')
		for i, item := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, item)
		}
		b.WriteByte(']')
	case jsonObject:
		b.WriteByte('{')
		for i, m := range n.members {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteJSON(m.key))
			b.WriteByte(':')
			writeCanonical(b, m.value)
		}
		b.WriteByte('}')
	}
}

// quoteJSON encodes s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func quoteJSON(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

// jsonEqual reports whether two values are equal as JSON Schema compares
// them (numbers by value, objects regardless of member order).
func jsonEqual(a, b *jsonNode) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case jsonNull:
		return true
	case jsonBool:
		return a.boolean == b.boolean
	case jsonNumber:
		x, y := a.rat(), b.rat()
		return x != nil && y != nil && x.Cmp(y) == 0
	case jsonString:
		return a.text == b.text
	case jsonArray:
		if len(a.items) != len(b.items) {
			return false
		}
		for i := range a.items {
			if !jsonEqual(a.items[i], b.items[i]) {
				return false
			}
		}
		return true
	default:
		if len(a.members) != len(b.members) {
			return false
		}
		for _, m := range a.members {
			o := b.get(m.key)
			if o == nil || !jsonEqual(m.value, o) {
				return false
			}
		}
		return true
	}
}
