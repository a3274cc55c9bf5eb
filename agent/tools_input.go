package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// decodeInput decodes a tool call's input into dst, a pointer to a struct
// whose json tags name the tool's fields. It is strict, because a model
// that misspells a field ("file_path" for "path") or sends a number as a
// string should hear so and correct itself, not have its call run with the
// field silently missing:
//
//   - the input must be one JSON object (empty input counts as {}, since
//     some models send nothing to a tool whose fields are all optional);
//   - every key must be a field's exact name (encoding/json alone would
//     match case-insensitively and ignore unknown keys);
//   - a value of the wrong type is refused with the field's name.
func decodeInput(tool string, input json.RawMessage, dst any) error {
	trimmed := bytes.TrimSpace(input)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil || fields == nil {
		return fmt.Errorf("%s: input must be a JSON object with the fields %s", tool, strings.Join(fieldNames(dst), ", "))
	}
	names := fieldNames(dst)
	var unknown []string
	for k := range fields {
		if !slices.Contains(names, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("%s: unknown field %s; the fields are %s", tool, strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	if err := json.Unmarshal(trimmed, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return fmt.Errorf("%s: field %q must be %s, not %s", tool, te.Field, jsonKind(te.Type), te.Value)
		}
		return fmt.Errorf("%s: bad input: %v", tool, err)
	}
	return nil
}

// fieldNames lists the json names of the struct dst points to, in
// declaration order.
func fieldNames(dst any) []string {
	t := reflect.TypeOf(dst).Elem()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// jsonKind names the JSON type a Go type decodes from, for error messages.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a " + t.Kind().String()
	}
}

// fileError rewrites an error from the workspace's os.Root into a sentence
// the model can act on. The Root's own messages name system calls
// ("openat x: path escapes from parent") and are unhelpful to a model.
func fileError(name string, err error) error {
	if _, ok := errors.AsType[*notRegularError](err); ok {
		return err
	}
	switch {
	case errors.Is(err, errOutside):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", name)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied", name)
	case strings.Contains(err.Error(), "path escapes from parent"):
		// os.Root does not export this error; its text is stable.
		return fmt.Errorf("%s: %w (a symbolic link on the way leads out of it)", name, errOutside)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// sniffLen is how much of a file is inspected to tell binary from text;
// git inspects the same amount.
const sniffLen = 8000

// isBinary reports whether the start of a file looks like binary data: a
// NUL byte, which text in any encoding the tools handle does not contain.
func isBinary(head []byte) bool {
	return bytes.IndexByte(head[:min(len(head), sniffLen)], 0) >= 0
}

// readLine reads the next line from br without its line ending ("\n" or
// "\r\n"), keeping at most max bytes of it and reporting whether it cut
// the rest. Lines of any length are consumed whole, so a minified file's
// one huge line costs time but not memory. It returns io.EOF only when no
// bytes remain.
func readLine(br *bufio.Reader, max int) (line []byte, cut bool, err error) {
	var buf []byte
	read := false
	for {
		frag, err := br.ReadSlice('\n')
		if len(frag) > 0 {
			read = true
		}
		if err == nil {
			frag = frag[:len(frag)-1]
		}
		room := max - len(buf)
		if len(frag) > room {
			cut = true
		}
		if room > 0 {
			buf = append(buf, frag[:min(len(frag), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, false, err
		}
		if !read {
			return nil, false, io.EOF
		}
		if !cut {
			buf = bytes.TrimSuffix(buf, []byte("\r"))
		}
		return buf, cut, nil
	}
}

// cutUTF8 returns the longest prefix of b, at most n bytes, that does not
// end inside a UTF-8 sequence, so that truncated output stays valid text.
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return trimPartialRune(b[:n])
}

// trimPartialRune drops an incomplete UTF-8 sequence from the end of b,
// which a cut at an arbitrary byte leaves.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		c := b[i]
		if c < utf8.RuneSelf {
			return b // ASCII: nothing is cut.
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}
