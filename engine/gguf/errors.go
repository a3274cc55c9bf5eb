package gguf

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped by the errors of this package; branch on them
// with errors.Is.
var (
	// ErrBadMagic: the file does not start with "GGUF".
	ErrBadMagic = errors.New("not a GGUF file")
	// ErrVersion: a GGUF version other than 2 or 3, or a big-endian file.
	ErrVersion = errors.New("unsupported GGUF version")
	// ErrTruncated: the file ends before its header, metadata, tensor
	// infos or tensor data do.
	ErrTruncated = errors.New("truncated file")
	// ErrInvalid: a structurally impossible value: unknown value type,
	// duplicate key or tensor, overflowing or absurd counts, tensors out of
	// place (misaligned or overlapping), a bad alignment.
	ErrInvalid = errors.New("invalid GGUF data")
	// ErrTensorType: a tensor has a ggml type this build does not know.
	ErrTensorType = errors.New("unknown tensor type")
	// ErrKeyNotFound: a metadata key the caller needs is missing.
	ErrKeyNotFound = errors.New("metadata key not found")
	// ErrWrongType: a metadata value has another type than the caller
	// needs.
	ErrWrongType = errors.New("metadata value has the wrong type")
	// ErrTensorNotFound: no tensor of that name.
	ErrTensorNotFound = errors.New("tensor not found")
	// ErrClosed: the file was closed.
	ErrClosed = errors.New("file is closed")
	// ErrNotRegular: the path names a named pipe, a device, a directory
	// or another thing that is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
)

// FormatError reports a problem with a file's structure.
type FormatError struct {
	// File is the path, or "<memory>" for Parse.
	File string
	// Offset is where in the file the problem was found.
	Offset int64
	// Err is one of ErrBadMagic, ErrVersion, ErrTruncated, ErrInvalid and
	// ErrTensorType.
	Err error
	// Detail says what was wrong.
	Detail string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: %s: %v: %s (at byte %d)", e.File, e.Err, e.Detail, e.Offset)
}

func (e *FormatError) Unwrap() error { return e.Err }

// KeyError reports a metadata key that is missing or has the wrong type.
type KeyError struct {
	File string
	Key  string
	// Want is the type the caller asked for ("u32", "array[string]").
	Want string
	// Got is the type in the file; empty when the key is missing.
	Got string
	// Err is ErrKeyNotFound or ErrWrongType.
	Err error
}

func (e *KeyError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("gguf: %s: required key %q (%s) is missing", e.File, e.Key, e.Want)
	}
	return fmt.Sprintf("gguf: %s: key %q has type %s, want %s", e.File, e.Key, e.Got, e.Want)
}

func (e *KeyError) Unwrap() error { return e.Err }
