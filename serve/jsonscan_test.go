package serve

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzScan checks the scanners against encoding/json on valid JSON: the
// same keys with the same values, the same elements.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":"x\"}","c":[1,{"d":"]"}],"e":null, "f" : true }`, `{}`, ` { "\u0061b" : {"x":[]} } `,
		`[1, "two", {"three":3}, [4], null]`, `[]`, `"str"`, `{"k":"\\"}`, `{"a":{"a":{"a":{}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) == nil && obj != nil {
			got := map[string]json.RawMessage{}
			if !eachField(data, func(k string, v []byte) bool { got[k] = v; return true }) {
				t.Fatalf("%s: not read as an object", data)
			}
			if len(got) != len(obj) {
				t.Fatalf("%s: keys %d, want %d", data, len(got), len(obj))
			}
			for k, v := range obj {
				if !sameCompact(got[k], v) {
					t.Fatalf("%s: %q = %s, want %s", data, k, got[k], v)
				}
			}
		}
		var arr []json.RawMessage
		if json.Unmarshal(data, &arr) == nil && arr != nil {
			var got [][]byte
			if !eachElem(data, func(_ int, v []byte) bool { got = append(got, v); return true }) {
				t.Fatalf("%s: not read as an array", data)
			}
			if len(got) != len(arr) {
				t.Fatalf("%s: %d elements, want %d", data, len(got), len(arr))
			}
			for i := range arr {
				if !sameCompact(got[i], arr[i]) {
					t.Fatalf("%s: [%d] = %s, want %s", data, i, got[i], arr[i])
				}
			}
		}
	})
}

func sameCompact(a, b []byte) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}
