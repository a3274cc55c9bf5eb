package gguf

import (
	"fmt"
	"math"
)

// Scalar is a Go type that holds one GGUF scalar.
type Scalar interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string | uint64 | int64 | float64
}

// Gettable is a Go type Get can return: a scalar, a slice of scalars (a
// GGUF array), or []Value (an array of arrays).
type Gettable interface {
	Scalar | []uint8 | []int8 | []uint16 | []int16 | []uint32 | []int32 | []float32 | []bool | []string |
		[]uint64 | []int64 | []float64 | []Value
}

// Get returns the value of key as a T of exactly the key's GGUF type
// (u32 as uint32, array[string] as []string, ...). A missing key gives a
// *KeyError wrapping ErrKeyNotFound; another type, one wrapping
// ErrWrongType; both name the key and the types. Slices are shared with
// the File: do not modify them.
func Get[T Gettable](f *File, key string) (T, error) {
	var zero T
	v, ok := f.Lookup(key)
	if !ok {
		return zero, &KeyError{File: f.path, Key: key, Want: typeName[T](), Err: ErrKeyNotFound}
	}
	x, ok := v.v.(T)
	if !ok {
		return zero, &KeyError{File: f.path, Key: key, Want: typeName[T](), Got: v.TypeName(), Err: ErrWrongType}
	}
	return x, nil
}

// GetOr is Get with a default for a missing key; a key of another type is
// still an error.
func GetOr[T Gettable](f *File, key string, def T) (T, error) {
	if !f.Has(key) {
		return def, nil
	}
	return Get[T](f, key)
}

func typeName[T Gettable]() string {
	var zero T
	v, err := ValueOf(any(zero))
	if err != nil {
		return "array[array]" // []Value
	}
	return v.TypeName()
}

// Int returns an integer of any GGUF integer type as int64, for keys
// whose writers disagree on the width. A u64 above MaxInt64 is an error.
func (f *File) Int(key string) (int64, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, &KeyError{File: f.path, Key: key, Want: "integer", Err: ErrKeyNotFound}
	}
	switch x := v.v.(type) {
	case uint8:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("gguf: %s: key %q is %d, too large", f.path, key, x)
		}
		return int64(x), nil
	case int64:
		return x, nil
	}
	return 0, &KeyError{File: f.path, Key: key, Want: "integer", Got: v.TypeName(), Err: ErrWrongType}
}

// KeyArchitecture names the model architecture ("llama", "qwen2", ...).
const KeyArchitecture = "general.architecture"

// Architecture returns general.architecture.
func (f *File) Architecture() (string, error) {
	a, err := Get[string](f, KeyArchitecture)
	if err == nil && a == "" {
		err = fmt.Errorf("gguf: %s: %s is empty", f.path, KeyArchitecture)
	}
	return a, err
}

// ArchKey returns "<architecture>.<suffix>", e.g. "qwen2.context_length"
// for "context_length".
func (f *File) ArchKey(suffix string) (string, error) {
	a, err := f.Architecture()
	if err != nil {
		return "", err
	}
	return a + "." + suffix, nil
}

// ArchGet is Get of the architecture's key: ArchGet[uint32](f,
// "context_length") reads "qwen2.context_length" in a qwen2 file.
func ArchGet[T Gettable](f *File, suffix string) (T, error) {
	key, err := f.ArchKey(suffix)
	if err != nil {
		var zero T
		return zero, err
	}
	return Get[T](f, key)
}

// ArchGetOr is GetOr of the architecture's key.
func ArchGetOr[T Gettable](f *File, suffix string, def T) (T, error) {
	key, err := f.ArchKey(suffix)
	if err != nil {
		return def, err
	}
	return GetOr(f, key, def)
}
