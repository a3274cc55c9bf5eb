package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// MaxNameLen is the longest tensor name llama.cpp accepts (GGML_MAX_NAME
// minus its terminating NUL).
const MaxNameLen = 63

// Writer builds a GGUF v3 file: metadata in the order set, tensor infos
// and data in the order added, each tensor's data aligned. This is the
// layout llama.cpp requires (it checks that every tensor starts where the
// previous one's padded data ends).
type Writer struct {
	alignment uint64
	kvs       []KV
	keys      map[string]int
	tensors   []writerTensor
	names     map[string]bool
}

type writerTensor struct {
	info  TensorInfo
	data  []byte
	write func(io.Writer) error
}

// NewWriter returns an empty writer with the default alignment of 32.
func NewWriter() *Writer {
	return &Writer{alignment: DefaultAlignment, keys: map[string]int{}, names: map[string]bool{}}
}

// SetAlignment sets the data alignment, a power of two, and records it as
// general.alignment (u32).
func (w *Writer) SetAlignment(n uint32) error {
	return w.Set(KeyAlignment, n)
}

// Set sets key to x, converted by ValueOf; setting a key again replaces
// its value in place. general.alignment must be a u32 power of two.
func (w *Writer) Set(key string, x any) error {
	v, err := ValueOf(x)
	if err != nil {
		return fmt.Errorf("gguf: key %q: %w", key, err)
	}
	if key == "" {
		return errors.New("gguf: empty metadata key")
	}
	if key == KeyAlignment {
		a, ok := v.v.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 || a > maxAlignment {
			return fmt.Errorf("gguf: %s must be a u32 power of two up to %d, got %s %v", KeyAlignment, maxAlignment, v.TypeName(), v)
		}
		if len(w.tensors) > 0 {
			return fmt.Errorf("gguf: set %s before adding tensors", KeyAlignment)
		}
		w.alignment = uint64(a)
	}
	if i, ok := w.keys[key]; ok {
		w.kvs[i].Value = v
		return nil
	}
	w.keys[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
	return nil
}

// AddTensor adds a tensor of type t and shape (ne0 first) holding data,
// which must be exactly its size. The writer keeps data until WriteTo.
func (w *Writer) AddTensor(name string, t TensorType, shape []uint64, data []byte) error {
	info, err := w.tensorInfo(name, t, shape)
	if err != nil {
		return err
	}
	if uint64(len(data)) != info.Size {
		return fmt.Errorf("gguf: tensor %q: %s of shape %v takes %d bytes, got %d", name, t, shape, info.Size, len(data))
	}
	w.add(writerTensor{info: info, data: data})
	return nil
}

// AddTensorFunc adds a tensor whose data write produces during WriteTo,
// so that large files need not be held in memory. write must write
// exactly the tensor's size.
func (w *Writer) AddTensorFunc(name string, t TensorType, shape []uint64, write func(io.Writer) error) error {
	info, err := w.tensorInfo(name, t, shape)
	if err != nil {
		return err
	}
	w.add(writerTensor{info: info, write: write})
	return nil
}

func (w *Writer) tensorInfo(name string, t TensorType, shape []uint64) (TensorInfo, error) {
	switch {
	case name == "":
		return TensorInfo{}, errors.New("gguf: empty tensor name")
	case len(name) > MaxNameLen:
		return TensorInfo{}, fmt.Errorf("gguf: tensor name %q is longer than %d bytes", name, MaxNameLen)
	case w.names[name]:
		return TensorInfo{}, fmt.Errorf("gguf: duplicate tensor %q", name)
	case len(shape) > MaxDims:
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q has %d dimensions, at most %d", name, len(shape), MaxDims)
	case !t.Known():
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q: %w %d", name, ErrTensorType, uint32(t))
	}
	size, err := tensorBytes(t, shape)
	if err != nil {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q: %v", name, err)
	}
	return TensorInfo{Name: name, Shape: append([]uint64(nil), shape...), Type: t, Size: size}, nil
}

func (w *Writer) add(t writerTensor) {
	var offset uint64
	if n := len(w.tensors); n > 0 {
		last := w.tensors[n-1].info
		offset = w.align(last.Offset + last.Size)
	}
	t.info.Offset = offset
	w.names[t.info.Name] = true
	w.tensors = append(w.tensors, t)
}

func (w *Writer) align(n uint64) uint64 { return (n + w.alignment - 1) &^ (w.alignment - 1) }

// WriteTo writes the file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(out, 64<<10)}
	e := encoder{w: cw}
	e.bytes([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.typ))
		e.value(kv.Value)
	}
	for _, t := range w.tensors {
		e.str(t.info.Name)
		e.u32(uint32(len(t.info.Shape)))
		for _, d := range t.info.Shape {
			e.u64(d)
		}
		e.u32(uint32(t.info.Type))
		e.u64(t.info.Offset)
	}
	if len(w.tensors) > 0 {
		e.pad(w.align(uint64(cw.n)) - uint64(cw.n))
	}
	for _, t := range w.tensors {
		if e.err != nil {
			break
		}
		start := cw.n
		if t.write != nil {
			if err := t.write(cw); err != nil {
				return cw.n, fmt.Errorf("gguf: tensor %q: %w", t.info.Name, err)
			}
		} else {
			e.bytes(t.data)
		}
		if e.err == nil && cw.err == nil && uint64(cw.n-start) != t.info.Size {
			return cw.n, fmt.Errorf("gguf: tensor %q: wrote %d bytes, its size is %d", t.info.Name, cw.n-start, t.info.Size)
		}
		e.pad(w.align(t.info.Size) - t.info.Size)
	}
	if e.err == nil {
		e.err = cw.w.Flush()
	}
	if e.err != nil {
		return cw.n, fmt.Errorf("gguf: write: %w", e.err)
	}
	return cw.n, nil
}

// WriteFile writes the file to path, through a temporary file in the
// same directory renamed into place, so a failed write leaves no partial
// model behind.
func (w *Writer) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := w.WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// encoder writes little-endian values, keeping the first error.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u8(v uint8)   { e.buf[0] = v; e.bytes(e.buf[:1]) }
func (e *encoder) u16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.bytes(e.buf[:2]) }
func (e *encoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.bytes(e.buf[:4]) }
func (e *encoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.bytes(e.buf[:8]) }

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

var zeros [64]byte

func (e *encoder) pad(n uint64) {
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		e.bytes(zeros[:k])
		n -= k
	}
}

func (e *encoder) value(v Value) {
	switch x := v.v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case string:
		e.str(x)
	default:
		e.u32(uint32(v.elem))
		e.u64(uint64(v.Len()))
		arrayElems(e, x)
	}
}

func arrayElems(e *encoder, x any) {
	switch a := x.(type) {
	case []uint8:
		e.bytes(a)
	case []int8:
		for _, v := range a {
			e.u8(uint8(v))
		}
	case []bool:
		for _, v := range a {
			e.value(Value{typ: TypeBool, v: v})
		}
	case []uint16:
		for _, v := range a {
			e.u16(v)
		}
	case []int16:
		for _, v := range a {
			e.u16(uint16(v))
		}
	case []uint32:
		for _, v := range a {
			e.u32(v)
		}
	case []int32:
		for _, v := range a {
			e.u32(uint32(v))
		}
	case []float32:
		for _, v := range a {
			e.u32(math.Float32bits(v))
		}
	case []uint64:
		for _, v := range a {
			e.u64(v)
		}
	case []int64:
		for _, v := range a {
			e.u64(uint64(v))
		}
	case []float64:
		for _, v := range a {
			e.u64(math.Float64bits(v))
		}
	case []string:
		for _, v := range a {
			e.str(v)
		}
	case []Value:
		for _, v := range a {
			e.u32(uint32(v.elem))
			e.u64(uint64(v.Len()))
			arrayElems(e, v.v)
		}
	}
}
