// Package jsontype names JSON types for error messages that say what a
// field must be and what it was: "must be an integer, not a string".
package jsontype

import (
	"bytes"
	"reflect"
)

// OfKind names the JSON type a Go value of kind k decodes from, such as
// the type of a json.UnmarshalTypeError: "a string", "an integer".
func OfKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	}
	return "a " + k.String()
}

// Of names the type of the JSON value raw, by its first byte that is not
// white space; an empty value is "nothing". It does not check that raw
// is valid JSON.
func Of(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
