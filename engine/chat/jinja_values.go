package chat

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// The values handed to gonja templates, and their printing as Python's
// json.dumps prints the equivalent Python values.

// pyList is a list as templates see it. gonja's own lists miss the last
// element on index -1 when they hold one element (messages[-1],
// text.split('<think>')[-1]); pyList indexes as Python does.
type pyList []any

// GetItem implements gonja's exec.ItemGetter.
func (l pyList) GetItem(key any) (*exec.Value, bool) {
	i, ok := key.(int)
	if !ok {
		return exec.AsValue(nil), false
	}
	if i < 0 {
		i += len(l)
	}
	if i < 0 || i >= len(l) {
		return exec.AsValue(nil), false
	}
	return exec.ToValue(l[i]), true
}

// orderRegistry remembers the key order of the maps handed to a template:
// gonja's dicts are Go maps, which have none, while Python's dicts keep
// insertion order and json.dumps prints in it. Maps are keyed by identity
// in a process-wide table, so that the filters (shared by all renders) can
// find them; each render removes its entries when done.
type orderRegistry struct {
	maps []reflect.Value
	// defuse, when set, swaps control-token text in the conversation's
	// strings for placeholders (see defuser).
	defuse *defuser
}

var keyOrders sync.Map // map pointer (uintptr) -> []string

func (r *orderRegistry) register(m map[string]any, keys []string) {
	v := reflect.ValueOf(m)
	keyOrders.Store(v.Pointer(), keys)
	r.maps = append(r.maps, v)
}

func (r *orderRegistry) release() {
	for _, v := range r.maps {
		keyOrders.Delete(v.Pointer())
	}
	r.maps = nil
}

// orderedKeys returns a map's keys in insertion order when known, else
// sorted.
func orderedKeys(v reflect.Value) []string {
	if keys, ok := keyOrders.Load(v.Pointer()); ok {
		ks := keys.([]string)
		if len(ks) == v.Len() {
			return ks
		}
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, fmt.Sprint(k.Interface()))
	}
	sort.Strings(keys)
	return keys
}

func (r *orderRegistry) object(keys []string, vals []any) map[string]any {
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[k] = vals[i]
	}
	r.register(m, keys)
	return m
}

// value turns a decoded JSON value into what gonja works on: maps, slices,
// strings, int or float64, bool and nil.
func (r *orderRegistry) value(v *jsonValue) any {
	switch v.kind {
	case jsonBool:
		return v.b
	case jsonNumber:
		return jinjaNumber(v.num)
	case jsonString:
		return r.defuse.text(v.str)
	case jsonArray:
		out := make(pyList, len(v.arr))
		for i, e := range v.arr {
			out[i] = r.value(e)
		}
		return out
	case jsonObject:
		vals := make([]any, len(v.vals))
		for i, e := range v.vals {
			vals[i] = r.value(e)
		}
		keys := make([]string, len(v.keys))
		for i, k := range v.keys {
			keys[i] = r.defuse.text(k)
		}
		return r.object(keys, vals)
	}
	return nil
}

// bigInt is an integer too large for int64. Python's int has no limit and
// json.dumps prints it digit for digit; here it is kept as its digits so
// that tojson can do the same (a template that did arithmetic on it would
// see a string, a price paid for exact printing).
type bigInt string

// jinjaNumber is a JSON number as Python's json.loads types it: an int
// when written without fraction or exponent, else a float.
func jinjaNumber(lit string) any {
	if !strings.ContainsAny(lit, ".eE") {
		var n int64
		if _, err := fmt.Sscan(lit, &n); err == nil {
			return int(n)
		}
		return bigInt(pyNumber(lit))
	}
	f, _ := strconv.ParseFloat(lit, 64) // overflow gives ±Inf, as in Python
	return f
}

// message turns a template message into the map a template reads.
func (r *orderRegistry) message(m message, shape jinjaShape) map[string]any {
	keys := []string{"role", "content"}
	var content any = r.defuse.text(m.content)
	if m.contentNull {
		content = nil
		if shape.emptyContent {
			content = ""
		}
	}
	vals := []any{m.role, content}
	if len(m.calls) > 0 {
		calls := make(pyList, 0, len(m.calls))
		for _, c := range m.calls {
			var args any = r.value(c.args)
			if shape.stringArgs {
				args = r.defuse.text(pyDumps(c.args, 0))
			}
			fn := r.object([]string{"name", "arguments"}, []any{r.defuse.text(c.name), args})
			calls = append(calls, r.object([]string{"id", "type", "function"}, []any{r.defuse.text(c.id), "function", fn}))
		}
		keys, vals = append(keys, "tool_calls"), append(vals, calls)
	}
	if m.hasReasoning {
		keys, vals = append(keys, "reasoning_content"), append(vals, r.defuse.text(m.reasoning))
	}
	if m.role == "tool" {
		keys, vals = append(keys, "tool_call_id"), append(vals, r.defuse.text(m.toolCallID))
		if m.name != "" {
			keys, vals = append(keys, "name"), append(vals, r.defuse.text(m.name))
		}
	}
	return r.object(keys, vals)
}

var errJSONTooLarge = fmt.Errorf("tojson: output exceeds %d bytes", maxValueBytes)

// maxEncodeDepth bounds tojson on values a template built itself.
const maxEncodeDepth = 1000

// pyEncode prints a gonja value as Python's json.dumps prints the
// equivalent Python value.
func pyEncode(b *strings.Builder, v any, indent, level int) error {
	if level > maxEncodeDepth {
		return errors.New("tojson: value nested too deeply")
	}
	if b.Len() > maxValueBytes {
		// A value that shares its parts prints each time: a list holding
		// the same list twice, sixty deep, prints 2^60 times.
		return errJSONTooLarge
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
		return nil
	case *exec.Value:
		if x == nil || x.IsNil() {
			b.WriteString("null")
			return nil
		}
		return pyEncode(b, x.Interface(), indent, level)
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
		return nil
	case string:
		writePyString(b, x)
		return nil
	case bigInt:
		b.WriteString(string(x))
		return nil
	case float32:
		b.WriteString(pyFloat(float64(x)))
		return nil
	case float64:
		b.WriteString(pyFloat(x))
		return nil
	case exec.Dict:
		return pyEncodeDict(b, &x, indent, level)
	case *exec.Dict:
		return pyEncodeDict(b, x, indent, level)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(b, rv.Int())
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprint(b, rv.Uint())
		return nil
	case reflect.String:
		writePyString(b, rv.String())
		return nil
	case reflect.Slice, reflect.Array:
		if rv.Len() == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i := range rv.Len() {
			writeSeparator(b, i, indent, level+1)
			if err := pyEncode(b, rv.Index(i).Interface(), indent, level+1); err != nil {
				return err
			}
		}
		writeClose(b, indent, level)
		b.WriteByte(']')
		return nil
	case reflect.Map:
		if rv.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range orderedKeys(rv) {
			writeSeparator(b, i, indent, level+1)
			writePyString(b, k)
			b.WriteString(": ")
			val := rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()))
			var elem any
			if val.IsValid() {
				elem = val.Interface()
			}
			if err := pyEncode(b, elem, indent, level+1); err != nil {
				return err
			}
		}
		writeClose(b, indent, level)
		b.WriteByte('}')
		return nil
	case reflect.Pointer:
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		return pyEncode(b, rv.Elem().Interface(), indent, level)
	}
	return fmt.Errorf("tojson: object of type %T is not JSON serializable", v)
}

func pyEncodeDict(b *strings.Builder, d *exec.Dict, indent, level int) error {
	if len(d.Pairs) == 0 {
		b.WriteString("{}")
		return nil
	}
	b.WriteByte('{')
	for i, p := range d.Pairs {
		writeSeparator(b, i, indent, level+1)
		writePyString(b, p.Key.String())
		b.WriteString(": ")
		if err := pyEncode(b, p.Value, indent, level+1); err != nil {
			return err
		}
	}
	writeClose(b, indent, level)
	b.WriteByte('}')
	return nil
}
