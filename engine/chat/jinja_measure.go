package chat

import (
	"reflect"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// measurer finds how large a value prints and how deeply it nests, before
// gonja's recursive printers, comparisons or copies walk it. Containers
// are remembered by identity, so a value that shares its parts (a list
// holding the same list twice at every level) is measured in time linear
// in its distinct parts, and one that contains itself is refused.
type measurer struct {
	budget *evalBudget // charged a step per container; nil outside a render
	// target, when set, is a container that the value must not contain:
	// storing the value into it would make it contain itself.
	target identity
	limit  int
	// walking holds the containers being measured, outermost first (at
	// most maxValueNesting); known, made once a value has many, those
	// measured.
	walking []identity
	known   map[identity]measure
	visited int
}

type measure struct{ size, depth int }

// identity is a container's identity: a map's or pointer's address, a
// slice's backing array and length.
type identity struct {
	p uintptr
	n int
}

func identityOf(v reflect.Value) (identity, bool) {
	switch v.Kind() {
	case reflect.Map, reflect.Pointer:
		if v.IsNil() {
			return identity{}, false
		}
		return identity{p: v.Pointer(), n: -1}, true
	case reflect.Slice:
		if v.Len() == 0 {
			return identity{}, false
		}
		return identity{p: v.Pointer(), n: v.Len()}, true
	}
	return identity{}, false
}

func newMeasurer(b *evalBudget, limit int) measurer {
	return measurer{budget: b, limit: limit}
}

// memoAfter is how many containers a value has before the measurer
// remembers them: small values (the usual) are measured without a map.
const memoAfter = 32

// of measures v, refusing (a limitExceeded panic) a value that nests too
// deeply or contains itself. Sizes stop growing past m.limit.
func (m *measurer) of(v any) measure {
	return m.walk(reflect.ValueOf(v), 0)
}

var (
	valuePtrType = reflect.TypeFor[*exec.Value]()
	dictPtrType  = reflect.TypeFor[*exec.Dict]()
	dictType     = reflect.TypeFor[exec.Dict]()
)

func (m *measurer) walk(v reflect.Value, level int) measure {
	if level > maxValueNesting {
		exceed("value nesting", maxValueNesting)
	}
	for v.Kind() == reflect.Interface {
		if v.IsNil() {
			return measure{size: 4}
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		return measure{size: 4}
	case reflect.String:
		return measure{size: v.Len() + 2}
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return measure{size: 24}
	case reflect.Pointer:
		if v.IsNil() {
			return measure{size: 4}
		}
		switch v.Type() {
		case valuePtrType:
			val := v.Interface().(*exec.Value)
			return m.walk(val.Val, level)
		case dictPtrType:
			return m.container(v, level)
		}
		return measure{size: 16}
	case reflect.Struct:
		if v.Type() == dictType {
			return m.pairs(v.Interface().(exec.Dict).Pairs, level)
		}
		return measure{size: 16}
	case reflect.Slice, reflect.Array, reflect.Map:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return measure{size: v.Len() + 3}
		}
		return m.container(v, level)
	}
	return measure{size: 16}
}

// container measures a list, dict or gonja Dict once per identity.
func (m *measurer) container(v reflect.Value, level int) measure {
	id, ok := identityOf(v)
	if ok {
		if id == m.target {
			exceed("value nesting (a value that contains itself)", maxValueNesting)
		}
		if r, done := m.known[id]; done {
			return r
		}
		for _, w := range m.walking {
			if w == id {
				exceed("value nesting (a value that contains itself)", maxValueNesting)
			}
		}
		m.walking = append(m.walking, id)
		defer func() { m.walking = m.walking[:len(m.walking)-1] }()
		if m.visited++; m.visited > memoAfter && m.known == nil {
			m.known = map[identity]measure{}
		}
	}
	var r measure
	switch v.Kind() {
	case reflect.Pointer: // *exec.Dict
		r = m.pairs(v.Interface().(*exec.Dict).Pairs, level)
	case reflect.Map:
		if m.budget != nil {
			m.budget.step(1 + v.Len()/16)
		}
		r.size = 2
		if dict, ok := v.Interface().(map[string]any); ok {
			for k, e := range dict {
				em := m.walk(reflect.ValueOf(e), level+1)
				r.size += len(k) + em.size + 6
				r.depth = max(r.depth, em.depth+1)
				if r.size > m.limit {
					break
				}
			}
			break
		}
		iter := v.MapRange()
		for iter.Next() {
			k := m.walk(iter.Key(), level+1)
			e := m.walk(iter.Value(), level+1)
			r.size += k.size + e.size + 4
			r.depth = max(r.depth, e.depth+1)
			if r.size > m.limit {
				break
			}
		}
	default:
		if m.budget != nil {
			m.budget.step(1 + v.Len()/16)
		}
		r.size = 2
		for i := range v.Len() {
			e := m.walk(v.Index(i), level+1)
			r.size += e.size + 2
			r.depth = max(r.depth, e.depth+1)
			if r.size > m.limit {
				break
			}
		}
	}
	r.depth = max(r.depth, 1)
	if ok && m.known != nil {
		m.known[id] = r
	}
	return r
}

func (m *measurer) pairs(pairs []*exec.Pair, level int) measure {
	if m.budget != nil {
		m.budget.step(1 + len(pairs)/16)
	}
	r := measure{size: 2, depth: 1}
	for _, p := range pairs {
		if p == nil {
			continue
		}
		k := m.walk(reflect.ValueOf(p.Key), level+1)
		e := m.walk(reflect.ValueOf(p.Value), level+1)
		r.size += k.size + e.size + 4
		r.depth = max(r.depth, e.depth+1)
		if r.size > m.limit {
			break
		}
	}
	return r
}

// printable refuses a value whose printed form would be too large or
// that nests too deeply to print.
func (b *evalBudget) printable(v *exec.Value) int {
	if r := resolved(v); r.Kind() != reflect.Slice && r.Kind() != reflect.Map && r.Kind() != reflect.Pointer && r.Kind() != reflect.Array {
		return 0 // a scalar prints small
	}
	m := newMeasurer(b, maxValueBytes)
	r := m.of(v)
	if r.size > maxValueBytes {
		exceed("string size", maxValueBytes)
	}
	return r.size
}

// storable refuses a value that nests too deeply, or that would contain
// target (a dict, list or namespace it is stored into).
func storable(b *evalBudget, v *exec.Value, target *exec.Value) {
	m := newMeasurer(b, 1<<62)
	if target != nil {
		if id, ok := identityOf(resolved(target)); ok {
			m.target = id
		}
	}
	m.of(v)
}

// resolved is the Go value behind a gonja value, unwrapping nested
// *exec.Value and interfaces.
func resolved(v *exec.Value) reflect.Value {
	r := v.Val
	for {
		for r.Kind() == reflect.Interface && !r.IsNil() {
			r = r.Elem()
		}
		if r.IsValid() && r.Type() == valuePtrType && !r.IsNil() {
			r = r.Interface().(*exec.Value).Val
			continue
		}
		return r
	}
}
