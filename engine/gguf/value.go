package gguf

import (
	"fmt"
	"strconv"
	"strings"
)

// ValueType is the type of a metadata value, with GGUF's ids.
type ValueType uint32

// GGUF's value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

// String is the type's short name: "u32", "string", "array", ...
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

func (t ValueType) valid() bool { return int(t) < len(valueTypeNames) }

// size is the encoded size of a fixed-size scalar, or 0.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of t takes.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return t.size()
}

// Value is a typed metadata value. Scalars hold the Go type of the same
// width (uint8 for u8, float32 for f32, bool, string, ...); arrays hold a
// slice of it ([]uint32, []string, ...), or []Value for arrays of arrays.
type Value struct {
	typ  ValueType
	elem ValueType // arrays only
	v    any
}

// Type is the value's type.
func (v Value) Type() ValueType { return v.typ }

// ElemType is the element type of an array.
func (v Value) ElemType() ValueType { return v.elem }

// Any returns the Go value: a scalar, a typed slice, or []Value.
func (v Value) Any() any { return v.v }

// Len is an array's length, 0 for scalars.
func (v Value) Len() int {
	switch a := v.v.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// TypeName is the full type: "u32", "array[string]", "array[array]".
func (v Value) TypeName() string {
	if v.typ == TypeArray {
		return "array[" + v.elem.String() + "]"
	}
	return v.typ.String()
}

// String formats the value for people; long arrays and strings are cut.
func (v Value) String() string {
	var b strings.Builder
	v.format(&b)
	return b.String()
}

func (v Value) format(b *strings.Builder) {
	const maxItems, maxString = 8, 120
	quote := func(s string) string {
		if len(s) > maxString {
			return strconv.Quote(s[:maxString]) + "…"
		}
		return strconv.Quote(s)
	}
	switch x := v.v.(type) {
	case string:
		b.WriteString(quote(x))
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i == maxItems {
				fmt.Fprintf(b, ", … (%d)", len(x))
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(s))
		}
		b.WriteByte(']')
	case []Value:
		b.WriteByte('[')
		for i, e := range x {
			if i == maxItems {
				fmt.Fprintf(b, ", … (%d)", len(x))
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			e.format(b)
		}
		b.WriteByte(']')
	default:
		if v.typ != TypeArray {
			fmt.Fprint(b, x)
			return
		}
		n := v.Len()
		s := fmt.Sprint(x) // "[1 2 3]"
		if n > maxItems {
			fields := strings.Fields(strings.Trim(s, "[]"))
			s = "[" + strings.Join(fields[:maxItems], " ") + fmt.Sprintf(" … (%d)]", n)
		}
		b.WriteString(s)
	}
}

// ValueOf makes a Value from a Go value: uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64, a slice of
// one of those (an array), []Value (an array of arrays) or a Value. Plain
// int and uint are refused: GGUF readers check widths, so say which.
func ValueOf(x any) (Value, error) {
	switch x := x.(type) {
	case Value:
		return x, nil
	case uint8:
		return Value{typ: TypeUint8, v: x}, nil
	case int8:
		return Value{typ: TypeInt8, v: x}, nil
	case uint16:
		return Value{typ: TypeUint16, v: x}, nil
	case int16:
		return Value{typ: TypeInt16, v: x}, nil
	case uint32:
		return Value{typ: TypeUint32, v: x}, nil
	case int32:
		return Value{typ: TypeInt32, v: x}, nil
	case float32:
		return Value{typ: TypeFloat32, v: x}, nil
	case bool:
		return Value{typ: TypeBool, v: x}, nil
	case string:
		return Value{typ: TypeString, v: x}, nil
	case uint64:
		return Value{typ: TypeUint64, v: x}, nil
	case int64:
		return Value{typ: TypeInt64, v: x}, nil
	case float64:
		return Value{typ: TypeFloat64, v: x}, nil
	case []uint8:
		return array(TypeUint8, x), nil
	case []int8:
		return array(TypeInt8, x), nil
	case []uint16:
		return array(TypeUint16, x), nil
	case []int16:
		return array(TypeInt16, x), nil
	case []uint32:
		return array(TypeUint32, x), nil
	case []int32:
		return array(TypeInt32, x), nil
	case []float32:
		return array(TypeFloat32, x), nil
	case []bool:
		return array(TypeBool, x), nil
	case []string:
		return array(TypeString, x), nil
	case []uint64:
		return array(TypeUint64, x), nil
	case []int64:
		return array(TypeInt64, x), nil
	case []float64:
		return array(TypeFloat64, x), nil
	case []Value:
		for i, e := range x {
			if e.typ != TypeArray {
				return Value{}, fmt.Errorf("gguf: an array of values must hold arrays; element %d is %s", i, e.TypeName())
			}
		}
		return Value{typ: TypeArray, elem: TypeArray, v: x}, nil
	}
	return Value{}, fmt.Errorf("gguf: no GGUF type for Go type %T", x)
}

func array[T any](elem ValueType, x []T) Value {
	if x == nil {
		x = []T{}
	}
	return Value{typ: TypeArray, elem: elem, v: x}
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}
