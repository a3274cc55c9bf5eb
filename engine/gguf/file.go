package gguf

import (
	"fmt"
	"os"
	"sync"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// File is an open GGUF file. Its metadata and tensor infos are parsed;
// tensor data is read in place from the mapping. A File is safe for
// concurrent use; Close must not race with the use of tensor data.
type File struct {
	path       string
	version    uint32
	alignment  uint64
	dataOffset uint64
	kvs        []KV
	index      map[string]int
	tensors    []TensorInfo
	tindex     map[string]int

	mu     sync.Mutex
	data   []byte // the whole file
	unmap  func() error
	closed bool
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name string
	// Shape holds the sizes, ne0 (the contiguous dimension) first. A
	// weight matrix of Out rows of In elements has Shape [In, Out].
	Shape []uint64
	Type  TensorType
	// Offset is where the data starts, from the start of the data
	// section.
	Offset uint64
	// Size is the data's length in bytes.
	Size uint64
}

// Elements is the number of elements.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Tensor is a tensor's info and data. Data is part of the file's mapping:
// read-only, and valid until the File is closed.
type Tensor struct {
	TensorInfo
	Data []byte
}

// Floats dequantises the whole tensor into a new slice (for norms and
// biases, which models keep in f32).
func (t Tensor) Floats() ([]float32, error) {
	n := t.Elements()
	if n > uint64(^uint(0)>>1)/4 {
		return nil, fmt.Errorf("gguf: tensor %q of shape %v is too large", t.Name, t.Shape)
	}
	f := make([]float32, n)
	if err := quant.Dequantize(t.Type, f, t.Data); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
	}
	return f, nil
}

// Floats returns the named tensor dequantised (see Tensor.Floats).
func (f *File) Floats(name string) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	return t.Floats()
}

// Open memory-maps the GGUF file at path and parses it.
// Anything but a regular file is refused with [ErrNotRegular], at once:
// a named pipe is not waited on.
func Open(path string) (*File, error) {
	fh, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, unmap, err := mapFile(fh)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	f, err := parse(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// notRegular is the error for a path whose mode is not a regular file's.
func notRegular(path string, mode os.FileMode) error {
	return fmt.Errorf("gguf: %s: %w: %s", path, ErrNotRegular, FileKind(mode))
}

// FileKind names the kind of file mode describes, for messages: "a named
// pipe", "a directory", "a regular file".
func FileKind(mode os.FileMode) string {
	switch t := mode.Type(); {
	case t == 0:
		return "a regular file"
	case t&os.ModeDir != 0:
		return "a directory"
	case t&os.ModeNamedPipe != 0:
		return "a named pipe"
	case t&os.ModeSocket != 0:
		return "a socket"
	case t&os.ModeCharDevice != 0:
		return "a character device"
	case t&os.ModeDevice != 0:
		return "a block device"
	case t&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// Parse parses a GGUF file held in memory. The File refers to data, which
// must not change while it is in use; Close releases nothing.
func Parse(data []byte) (*File, error) {
	return parse("<memory>", data)
}

// Close releases the mapping. Tensor data slices must not be used after.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.unmap != nil {
		if err := f.unmap(); err != nil {
			return fmt.Errorf("gguf: %s: unmap: %w", f.path, err)
		}
	}
	return nil
}

// Path is the file's path ("<memory>" for Parse).
func (f *File) Path() string { return f.path }

// Version is the GGUF version, 2 or 3.
func (f *File) Version() uint32 { return f.version }

// Alignment is the data alignment (general.alignment, or 32).
func (f *File) Alignment() uint64 { return f.alignment }

// DataOffset is where the data section starts in the file.
func (f *File) DataOffset() uint64 { return f.dataOffset }

// KVs returns the metadata in file order. The slice and the values are
// shared: do not modify them.
func (f *File) KVs() []KV { return f.kvs }

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.index[key]
	if !ok {
		return Value{}, false
	}
	return f.kvs[i].Value, true
}

// Has reports whether key is present.
func (f *File) Has(key string) bool {
	_, ok := f.index[key]
	return ok
}

// Tensors returns the tensor infos in file order (shared: do not modify).
func (f *File) Tensors() []TensorInfo { return f.tensors }

// TensorInfo returns the info of the named tensor.
func (f *File) TensorInfo(name string) (TensorInfo, bool) {
	i, ok := f.tindex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// Tensor returns the named tensor with its data.
func (f *File) Tensor(name string) (Tensor, error) {
	i, ok := f.tindex[name]
	if !ok {
		return Tensor{}, fmt.Errorf("gguf: %s: %w: %q", f.path, ErrTensorNotFound, name)
	}
	f.mu.Lock()
	data := f.data
	f.mu.Unlock()
	if data == nil {
		return Tensor{}, fmt.Errorf("gguf: %s: %w", f.path, ErrClosed)
	}
	t := f.tensors[i]
	start := f.dataOffset + t.Offset
	return Tensor{TensorInfo: t, Data: data[start : start+t.Size : start+t.Size]}, nil
}
