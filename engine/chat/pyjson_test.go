package chat

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The expected strings were printed by Python 3.11's
// json.dumps(json.loads(in), ensure_ascii=False[, indent=2]).
func TestReencodeJSONMatchesPython(t *testing.T) {
	for _, tc := range []struct{ name, in, compact, indented string }{
		{"reordered keys", "{\"b\":1,\"a\":2}", "{\"b\": 1, \"a\": 2}", "{\n  \"b\": 1,\n  \"a\": 2\n}"},
		{"duplicate key", "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\": 3, \"b\": 2}", "{\n  \"a\": 3,\n  \"b\": 2\n}"},
		{"empty array", "[]", "[]", "[]"},
		{"empty object", "{}", "{}", "{}"},
		{"nesting", "[1,[2,[3,{}]],{\"x\":[]}]", "[1, [2, [3, {}]], {\"x\": []}]", "[\n  1,\n  [\n    2,\n    [\n      3,\n      {}\n    ]\n  ],\n  {\n    \"x\": []\n  }\n]"},
		{"unicode escapes", "\"caf\\u00e9 \\ud83d\\ude00 \\u2028 <>&' \\/ \\u007f\"", "\"café 😀 \u2028 <>&' / \x7f\"", "\"café 😀 \u2028 <>&' / \x7f\""},
		{"control escapes", "\"tab\\t nl\\n cr\\r bs\\\\ q\\\" bell\\u0007 esc\\u001b us\\u001f\"", "\"tab\\t nl\\n cr\\r bs\\\\ q\\\" bell\\u0007 esc\\u001b us\\u001f\"", "\"tab\\t nl\\n cr\\r bs\\\\ q\\\" bell\\u0007 esc\\u001b us\\u001f\""},
		{"numbers", "[0, -0, 1, -1, 12345678901234567890123, 1.0, -0.0, 1.5, 1e5, 1E-5, 1e16, 1e15, 0.0001, 0.00001, 123456789012345678.0, 1.5e300, 1e400, -1e400, 1e-400, 5e-324, 0.1, 2.5e-3, 100.0e-2]", "[0, 0, 1, -1, 12345678901234567890123, 1.0, -0.0, 1.5, 100000.0, 1e-05, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 1.2345678901234568e+17, 1.5e+300, Infinity, -Infinity, 0.0, 5e-324, 0.1, 0.0025, 1.0]", "[\n  0,\n  0,\n  1,\n  -1,\n  12345678901234567890123,\n  1.0,\n  -0.0,\n  1.5,\n  100000.0,\n  1e-05,\n  1e+16,\n  1000000000000000.0,\n  0.0001,\n  1e-05,\n  1.2345678901234568e+17,\n  1.5e+300,\n  Infinity,\n  -Infinity,\n  0.0,\n  5e-324,\n  0.1,\n  0.0025,\n  1.0\n]"},
		{"true", "true", "true", "true"},
		{"false", "false", "false", "false"},
		{"null", "null", "null", "null"},
		{"whitespace", " {\"sp\" :  [ 1 , 2 ] } ", "{\"sp\": [1, 2]}", "{\n  \"sp\": [\n    1,\n    2\n  ]\n}"},
		{"raw utf8", "\"é ☕\"", "\"é ☕\"", "\"é ☕\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReencodeJSON([]byte(tc.in), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.compact {
				t.Errorf("compact:\n got %s\nwant %s", got, tc.compact)
			}
			got, err = ReencodeJSON([]byte(tc.in), 2)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.indented {
				t.Errorf("indent=2:\n got %s\nwant %s", got, tc.indented)
			}
		})
	}
}

func TestReencodeJSONLoneSurrogates(t *testing.T) {
	// Python keeps a lone surrogate as a code point no UTF-8 text can
	// hold; it is written back as the escape it came from.
	for in, want := range map[string]string{
		`"\ud800"`:        `"\ud800"`,
		`"a\udfffb"`:      `"a\udfffb"`,
		`"\ud83d\u0041"`:  `"\ud83dA"`,
		`"\ud83d\ude00x"`: `"😀x"`,
		`"\uDE00\uD83D"`:  `"\ude00\ud83d"`,
	} {
		got, err := ReencodeJSON([]byte(in), 0)
		if err != nil || got != want {
			t.Errorf("%s: got %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestReencodeJSONRejectsInvalid(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `[1,]`, `{"a":}`, `{"a" 1}`, `{1:2}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`,
		`"abc`, `"\x"`, `"\u12"`, "\"a\x01b\"", `[1] 2`, `NaN`, `Infinity`, `{"a":1,}`, `'a'`,
	} {
		if got, err := ReencodeJSON([]byte(in), 0); err == nil {
			t.Errorf("accepted %q as %s", in, got)
		}
		if json.Valid([]byte(in)) {
			t.Errorf("test bug: %q is valid JSON", in)
		}
	}
}

func TestReencodeJSONBoundsNesting(t *testing.T) {
	deep := strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2)
	if _, err := ReencodeJSON([]byte(deep), 0); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("err = %v, want a nesting error", err)
	}
	ok := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	if _, err := ReencodeJSON([]byte(ok), 0); err != nil {
		t.Fatal(err)
	}
}

func TestPyFloat(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	for f, want := range map[float64]string{
		0: "0.0", math.Copysign(0, -1): "-0.0", 1: "1.0", -2.5: "-2.5", 1e16: "1e+16", 9999999999999998: "9999999999999998.0",
		1e-4: "0.0001", 1e-5: "1e-05", 123.456: "123.456", 1e22: "1e+22", 1.7976931348623157e308: "1.7976931348623157e+308",
		math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", tenth + fifth: "0.30000000000000004",
	} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func FuzzReencodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[true,false,null,"x"]}`, `[1.5e300, -0, 12345678901234567890, 1e-7]`, `"\u00e9\ud83d\ude00\n"`,
		`{"a":{"a":{"a":[]}}, "a": 2}`, `"\ud800"`, ` [ ] `, `0`, `"\u2028<>&"`, "\"\xff\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ReencodeJSON(data, 0)
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q as %s", data, out)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "nested deeper") {
				return
			}
			t.Fatalf("rejected valid JSON %q: %v", data, err)
		}
		if strings.Contains(out, "Infinity") && !strings.Contains(out, `"`) {
			return // Python prints overflowing floats as Infinity, which is not JSON
		}
		if !json.Valid([]byte(out)) {
			if strings.Contains(out, "Infinity") {
				return
			}
			t.Fatalf("re-encoding %q gave invalid JSON %s", data, out)
		}
		if !sameJSON(t, data, []byte(out)) {
			t.Fatalf("re-encoding changed the value:\n in %s\nout %s", data, out)
		}
		again, err := ReencodeJSON([]byte(out), 0)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %s then %s (%v)", out, again, err)
		}
		indented, err := ReencodeJSON(data, 4)
		if err != nil || !sameJSON(t, data, []byte(indented)) {
			t.Fatalf("indented form differs: %s (%v)", indented, err)
		}
	})
}

// sameJSON compares two JSON documents as values, numbers by value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(data []byte) any {
		d := json.NewDecoder(strings.NewReader(string(data)))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		return normalizeNumbers(v)
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		// Python keeps integers exact and reads the rest as float64.
		if !strings.ContainsAny(string(x), ".eE") {
			n, ok := new(big.Int).SetString(string(x), 10)
			if !ok {
				return string(x)
			}
			return "int " + n.String()
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return string(x)
		}
		return "float " + strconv.FormatFloat(f, 'g', -1, 64)
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeNumbers(x[k])
		}
	}
	return v
}
