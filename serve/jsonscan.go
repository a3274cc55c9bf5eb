package serve

import (
	"bytes"
	"encoding/json"
)

// The field check walks request bodies that have already been decoded,
// so they are known to be valid JSON: these scanners only find where
// keys and values start and end, without validating again or copying.
// That keeps the check at a small part of the decoding's cost on long
// conversations (see BenchmarkDecodeChatRequest).

// eachField calls fn with every key and raw value of the JSON object
// data, in order, until fn returns false. It reports false if data is not
// an object.
func eachField(data []byte, fn func(key string, value []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] != '}' {
		keyEnd := skipValue(data, i)
		key := string(data[i+1 : keyEnd-1])
		if !plainASCII(key) {
			json.Unmarshal(data[i:keyEnd], &key) // escapes, and invalid UTF-8 read as encoding/json does
		}
		i = skipSpace(data, keyEnd)
		i = skipSpace(data, i+1) // the colon
		end := skipValue(data, i)
		if !fn(key, data[i:end]) {
			return true
		}
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return true
}

// eachElem calls fn with every raw element of the JSON array data. It
// reports false if data is not an array.
func eachElem(data []byte, fn func(i int, value []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return false
	}
	i = skipSpace(data, i+1)
	for n := 0; i < len(data) && data[i] != ']'; n++ {
		end := skipValue(data, i)
		if !fn(n, data[i:end]) {
			return true
		}
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the value that starts at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(data) && bytes.IndexByte([]byte(",}] \t\r\n"), data[i]) < 0 {
		i++
	}
	return i
}

// skipString returns the end of the string that starts at data[i]: the
// first quote after it that no odd run of backslashes escapes, found
// with IndexByte, which is fast on long texts.
func skipString(data []byte, i int) int {
	start := i
	i++
	for {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return len(data)
		}
		i += j
		n := 0
		for k := i - 1; k > start && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
}

// plainASCII reports whether s is printable ASCII without escapes: a key
// that reads as it is written.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x80 || s[i] == '\\' {
			return false
		}
	}
	return true
}
