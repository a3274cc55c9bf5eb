package quant

import (
	"errors"
	"fmt"
	"strings"
)

// Type is a ggml tensor type. Its values are ggml's ids, as GGUF files
// store them.
type Type uint32

// ggml's tensor types. Ids 4, 5, 31-33 and 36-38 belong to removed types.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
	NVFP4   Type = 40
	Q1_0    Type = 41
	Q2_0    Type = 42
)

// Errors callers can branch on with errors.Is.
var (
	// ErrUnknownType: the id names no ggml type this package knows.
	ErrUnknownType = errors.New("quant: unknown tensor type")
	// ErrUnsupported: the type is known but has no kernels here.
	ErrUnsupported = errors.New("quant: tensor type not supported")
	// ErrLength: a length does not fit the type's blocks or the other
	// operand.
	ErrLength = errors.New("quant: bad length")
)

// layout is a type's block geometry: blockSize elements take blockBytes
// bytes.
type layout struct {
	name       string
	blockSize  int
	blockBytes int
}

// numTypes bounds the ids in layouts.
const numTypes = 43

// layouts is ggml's type table (ggml_type_name, ggml_blck_size and
// ggml_type_size of the pinned llama.cpp; checked against it in tests).
var layouts = [numTypes]layout{
	F32:     {"f32", 1, 4},
	F16:     {"f16", 1, 2},
	Q4_0:    {"q4_0", 32, 18},
	Q4_1:    {"q4_1", 32, 20},
	Q5_0:    {"q5_0", 32, 22},
	Q5_1:    {"q5_1", 32, 24},
	Q8_0:    {"q8_0", 32, 34},
	Q8_1:    {"q8_1", 32, 36},
	Q2_K:    {"q2_K", 256, 84},
	Q3_K:    {"q3_K", 256, 110},
	Q4_K:    {"q4_K", 256, 144},
	Q5_K:    {"q5_K", 256, 176},
	Q6_K:    {"q6_K", 256, 210},
	Q8_K:    {"q8_K", 256, 292},
	IQ2_XXS: {"iq2_xxs", 256, 66},
	IQ2_XS:  {"iq2_xs", 256, 74},
	IQ3_XXS: {"iq3_xxs", 256, 98},
	IQ1_S:   {"iq1_s", 256, 50},
	IQ4_NL:  {"iq4_nl", 32, 18},
	IQ3_S:   {"iq3_s", 256, 110},
	IQ2_S:   {"iq2_s", 256, 82},
	IQ4_XS:  {"iq4_xs", 256, 136},
	I8:      {"i8", 1, 1},
	I16:     {"i16", 1, 2},
	I32:     {"i32", 1, 4},
	I64:     {"i64", 1, 8},
	F64:     {"f64", 1, 8},
	IQ1_M:   {"iq1_m", 256, 56},
	BF16:    {"bf16", 1, 2},
	TQ1_0:   {"tq1_0", 256, 54},
	TQ2_0:   {"tq2_0", 256, 66},
	MXFP4:   {"mxfp4", 32, 17},
	NVFP4:   {"nvfp4", 64, 36},
	Q1_0:    {"q1_0", 128, 18},
	Q2_0:    {"q2_0", 64, 18},
}

func (t Type) layout() (layout, bool) {
	if t >= numTypes || layouts[t].blockSize == 0 {
		return layout{}, false
	}
	return layouts[t], true
}

// Known reports whether t is a ggml type with a known block layout. Files
// may hold known types that this package has no kernels for.
func (t Type) Known() bool {
	_, ok := t.layout()
	return ok
}

// Supported reports whether t has kernels here: dequantisation,
// quantisation and dot products.
func (t Type) Supported() bool {
	return t < numTypes && kernels[t] != nil
}

// String returns ggml's name for t ("f32", "q4_K", ...), or "type(N)".
func (t Type) String() string {
	if l, ok := t.layout(); ok {
		return l.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// ParseType returns the type named s, ignoring case ("Q4_K", "bf16").
func ParseType(s string) (Type, error) {
	for i, l := range layouts {
		if l.blockSize != 0 && strings.EqualFold(l.name, s) {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownType, s)
}

// BlockSize is the number of elements in one block of t; 0 if unknown.
func (t Type) BlockSize() int {
	l, _ := t.layout()
	return l.blockSize
}

// BlockBytes is the number of bytes in one block of t; 0 if unknown.
func (t Type) BlockBytes() int {
	l, _ := t.layout()
	return l.blockBytes
}

// RowBytes returns the size in bytes of n elements of t. n must be a
// non-negative multiple of t's block size.
func (t Type) RowBytes(n int) (int, error) {
	l, ok := t.layout()
	if !ok {
		return 0, fmt.Errorf("%w %d", ErrUnknownType, uint32(t))
	}
	if n < 0 || n%l.blockSize != 0 {
		return 0, fmt.Errorf("%w: %d elements is not a multiple of %s's block of %d", ErrLength, n, l.name, l.blockSize)
	}
	blocks := n / l.blockSize
	if blocks > maxInt/l.blockBytes {
		return 0, fmt.Errorf("%w: %d elements of %s overflow int", ErrLength, n, l.name)
	}
	return blocks * l.blockBytes, nil
}

// VecDotType is the type llama.cpp's CPU backend converts activations to
// before taking dot products with weights of type t.
func (t Type) VecDotType() (Type, error) {
	if !t.Supported() {
		return 0, t.unsupported()
	}
	return kernels[t].vecDotType, nil
}

func (t Type) unsupported() error {
	if !t.Known() {
		return fmt.Errorf("%w %d", ErrUnknownType, uint32(t))
	}
	return fmt.Errorf("%w: %s", ErrUnsupported, t)
}

const maxInt = int(^uint(0) >> 1)
