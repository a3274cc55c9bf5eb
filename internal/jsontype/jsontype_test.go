package jsontype

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestOfKind(t *testing.T) {
	for k, want := range map[reflect.Kind]string{
		reflect.String: "a string", reflect.Bool: "a boolean", reflect.Slice: "an array", reflect.Array: "an array",
		reflect.Struct: "an object", reflect.Map: "an object", reflect.Float64: "a number", reflect.Int: "an integer",
		reflect.Uint8: "an integer", reflect.Int64: "an integer", reflect.Interface: "a interface",
	} {
		if got := OfKind(k); got != want {
			t.Errorf("OfKind(%s) = %q, want %q", k, got, want)
		}
	}
	// As the decoder reports it.
	var v struct{ N int }
	var te *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`{"N":"x"}`), &v); !errors.As(err, &te) || OfKind(te.Type.Kind()) != "an integer" {
		t.Errorf("type error %v", err)
	}
}

func TestOf(t *testing.T) {
	for raw, want := range map[string]string{
		` {"a":1}`: "an object", "[1]": "an array", `"s"`: "a string", "true": "a boolean", "false": "a boolean",
		"null": "null", "-1.5": "a number", "": "nothing", " \n\t": "nothing",
	} {
		if got := Of([]byte(raw)); got != want {
			t.Errorf("Of(%q) = %q, want %q", raw, got, want)
		}
	}
}

// Of names every valid JSON value as the decoder sees it.
func FuzzOf(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `"x"`, `true`, `null`, `12`, ` `, `-0.5e3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := Of(raw)
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		want := map[reflect.Kind]string{reflect.Map: "an object", reflect.Slice: "an array", reflect.String: "a string", reflect.Bool: "a boolean", reflect.Float64: "a number"}[reflect.ValueOf(v).Kind()]
		if v == nil {
			want = "null"
		}
		if got != want {
			t.Fatalf("Of(%q) = %q, want %q", raw, got, want)
		}
	})
}
