package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// raw builds GGUF bytes by hand, including impossible ones.
type raw struct{ bytes.Buffer }

func (r *raw) u32(v uint32) *raw { binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) u64(v uint64) *raw { binary.Write(&r.Buffer, binary.LittleEndian, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }
func (r *raw) pad(n int) *raw    { r.Write(make([]byte, n)); return r }

func header(version uint32, tensors, kvs uint64) *raw {
	r := &raw{}
	r.WriteString("GGUF")
	return r.u32(version).u64(tensors).u64(kvs)
}

// tensor appends a tensor info.
func (r *raw) tensor(name string, typ uint32, offset uint64, shape ...uint64) *raw {
	r.str(name).u32(uint32(len(shape)))
	for _, d := range shape {
		r.u64(d)
	}
	return r.u32(typ).u64(offset)
}

// finish pads to 32 and appends data bytes.
func (r *raw) finish(data int) []byte {
	r.pad((32 - r.Len()%32) % 32)
	r.pad(data)
	return r.Bytes()
}

func TestMalformed(t *testing.T) {
	nested := header(3, 0, 1).str("deep")
	nested.u32(uint32(TypeArray))
	for i := 0; i < 20; i++ {
		nested.u32(uint32(TypeArray)).u64(1)
	}
	nested.u32(uint32(TypeUint8)).u64(0)

	tests := []struct {
		name string
		b    []byte
		want error
		text string
	}{
		{"empty", nil, ErrTruncated, "shorter than a header"},
		{"two bytes", []byte("GG"), ErrTruncated, ""},
		{"other magic", []byte("GGML\x01\x00\x00\x00"), ErrBadMagic, `magic "GGML"`},
		{"short other magic", []byte("PK"), ErrBadMagic, ""},
		{"v1", header(1, 0, 0).Bytes(), ErrVersion, "v1"},
		{"v4", header(4, 0, 0).Bytes(), ErrVersion, "version 4"},
		{"big endian", header(0x03000000, 0, 0).Bytes(), ErrVersion, "big-endian"},
		{"no counts", []byte("GGUF\x03\x00\x00\x00\x01"), ErrTruncated, "header"},
		{"absurd kv count", header(3, 0, 1<<62).Bytes(), ErrTruncated, "metadata count"},
		{"absurd tensor count", header(3, 1<<60, 0).Bytes(), ErrTruncated, "tensor count"},
		{"unknown value type", header(3, 0, 1).str("k").u32(13).u64(0).Bytes(), ErrInvalid, `key "k" has unknown value type 13`},
		{"duplicate key", header(3, 0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).Bytes(), ErrInvalid, `duplicate key "k"`},
		{"absurd string", header(3, 0, 1).str("k").u32(uint32(TypeString)).u64(1 << 50).Bytes(), ErrTruncated, "string length"},
		{"absurd key", header(3, 0, 1).u64(1 << 63).pad(16).Bytes(), ErrTruncated, "string length"},
		{"absurd array", header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint64)).u64(1 << 61).pad(64).Bytes(), ErrTruncated, "array count"},
		{"absurd string array", header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(1 << 40).pad(64).Bytes(), ErrTruncated, "array count"},
		{"unknown element type", header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(99).u64(0).Bytes(), ErrInvalid, "element type 99"},
		{"deep nesting", nested.Bytes(), ErrInvalid, "nested more than"},
		{"truncated value", header(3, 0, 1).str("k").u32(uint32(TypeUint64)).u32(0).Bytes(), ErrTruncated, "metadata"},
		{"alignment type", header(3, 0, 1).str(KeyAlignment).u64(uint64(TypeUint64) << 0).Bytes(), ErrTruncated, ""},
		{"alignment u64", header(3, 0, 1).str(KeyAlignment).u32(uint32(TypeUint64)).u64(32).Bytes(), ErrInvalid, "has type u64, want u32"},
		{"alignment zero", header(3, 0, 1).str(KeyAlignment).u32(uint32(TypeUint32)).u32(0).Bytes(), ErrInvalid, "power of two"},
		{"alignment three", header(3, 0, 1).str(KeyAlignment).u32(uint32(TypeUint32)).u32(3).Bytes(), ErrInvalid, "power of two"},
		{"alignment huge", header(3, 0, 1).str(KeyAlignment).u32(uint32(TypeUint32)).u32(1 << 31).Bytes(), ErrInvalid, "power of two"},
		{"five dims", header(3, 1, 0).tensor("t", 0, 0, 1, 1, 1, 1, 1).finish(4), ErrInvalid, `"t" has 5 dimensions`},
		{"removed type", header(3, 1, 0).tensor("t", 4, 0, 32).finish(32), ErrTensorType, `"t" has ggml type 4`},
		{"unknown type", header(3, 1, 0).tensor("t", 1000, 0, 32).finish(32), ErrTensorType, "ggml type 1000"},
		{"overflowing shape", header(3, 1, 0).tensor("t", 0, 0, 1<<32, 1<<32).finish(0), ErrInvalid, "overflows"},
		{"huge dimension", header(3, 1, 0).tensor("t", 0, 0, 1<<63).finish(0), ErrInvalid, "too large"},
		{"overflowing bytes", header(3, 1, 0).tensor("t", 0, 0, 1<<62).finish(0), ErrInvalid, "byte size"},
		{"partial block", header(3, 1, 0).tensor("t", 8, 0, 33).finish(64), ErrInvalid, "not a multiple of its block size 32"},
		{"misaligned", header(3, 1, 0).tensor("t", 0, 4, 4).finish(64), ErrInvalid, "not a multiple of the alignment 32"},
		{"overlap", header(3, 2, 0).tensor("a", 0, 0, 16).tensor("b", 0, 32, 8).finish(64), ErrInvalid, `"a" and "b" overlap`},
		{"overlap past empty", header(3, 3, 0).tensor("a", 0, 0, 32).tensor("e", 0, 32, 0).tensor("b", 0, 64, 8).finish(160), ErrInvalid, `"a" and "b" overlap`},
		{"past the end", header(3, 1, 0).tensor("t", 0, 0, 16).finish(63), ErrTruncated, `"t" data [0, 64)`},
		{"offset past the end", header(3, 1, 0).tensor("t", 0, 1<<40, 8).finish(64), ErrTruncated, "past the end of the data section"},
		{"no data section", header(3, 1, 0).tensor("t", 0, 0, 8).Bytes(), ErrTruncated, "data section starts"},
		{"duplicate tensor", header(3, 2, 0).tensor("t", 0, 0, 8).tensor("t", 0, 32, 8).finish(64), ErrInvalid, `duplicate tensor "t"`},
		{"truncated infos", header(3, 2, 0).tensor("t", 0, 0, 8).pad(20).Bytes(), ErrTruncated, "tensor infos"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != "<memory>" || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q should be a FormatError mentioning %q", err, tc.text)
			}
		})
	}
}

func TestValidEdgeFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"no tensors no padding", header(3, 0, 1).str("k").u32(uint32(TypeBool)).Bytes()[:0:0]},
		{"v2", header(2, 0, 0).Bytes()},
		{"empty tensor", header(3, 1, 0).tensor("e", 0, 0, 0).finish(0)},
		{"scalar tensor", header(3, 1, 0).tensor("s", 0, 0).finish(32)},
		{"tensors out of order", header(3, 2, 0).tensor("b", 0, 32, 8).tensor("a", 0, 0, 8).finish(64)},
		{"bool 2 is true", header(3, 0, 1).str("k").u32(uint32(TypeBool)).Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			if tc.name == "no tensors no padding" {
				b = header(3, 0, 0).Bytes()
			}
			if tc.name == "bool 2 is true" {
				b = append(b, 2)
			}
			f, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "bool 2 is true" {
				if v, err := Get[bool](f, "k"); err != nil || !v {
					t.Errorf("bool = %v, %v", v, err)
				}
			}
		})
	}
}

// TestEveryTruncation cuts a valid file at every length: each prefix that
// loses data must fail cleanly as truncated. Like llama.cpp, the reader
// does not need the padding after the last tensor.
func TestEveryTruncation(t *testing.T) {
	b, _ := buildFile(t, 0)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors()[len(f.Tensors())-1]
	end := int(f.DataOffset() + last.Offset + last.Size)
	for n := 0; n < len(b); n++ {
		_, err := Parse(b[:n])
		if n < end && !errors.Is(err, ErrTruncated) || n >= end && err != nil {
			t.Fatalf("prefix of %d bytes (data ends at %d): %v", n, end, err)
		}
	}
}

func TestOpenErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.gguf")
	b, _ := buildFile(t, 0)
	if err := os.WriteFile(path, b[:len(b)-40], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Open(dir); err == nil {
		t.Error("a directory opened")
	}
}
