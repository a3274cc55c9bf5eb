package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/tetherllm/tether/internal/engine/quant"
)

const (
	// DefaultAlignment is the data alignment when general.alignment is
	// absent.
	DefaultAlignment = 32
	// MaxDims is the most dimensions a ggml tensor has.
	MaxDims = 4
	// KeyAlignment is the metadata key that sets the data alignment.
	KeyAlignment = "general.alignment"
	// maxDepth bounds arrays of arrays, so hostile nesting cannot run the
	// parser deep.
	maxDepth = 16
	// maxAlignment keeps a hostile alignment from placing the data
	// section past any real file.
	maxAlignment = 1 << 20
)

// parser walks the bytes of a GGUF file. Every read checks what is left,
// and every count is checked against the bytes it needs before anything is
// allocated for it, so memory stays bounded by the file size.
type parser struct {
	name string
	b    []byte
	off  int
	// section names the part being read, for truncation errors.
	section string
}

func (p *parser) fail(sentinel error, format string, args ...any) error {
	return &FormatError{File: p.name, Offset: int64(p.off), Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

func (p *parser) need(n uint64) error {
	if rest := uint64(len(p.b) - p.off); n > rest {
		return p.fail(ErrTruncated, "%s needs %d more bytes, the file has %d", p.section, n, rest)
	}
	return nil
}

func (p *parser) u32() (uint32, error) {
	if err := p.need(4); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(p.b[p.off:])
	p.off += 4
	return v, nil
}

func (p *parser) u64() (uint64, error) {
	if err := p.need(8); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(p.b[p.off:])
	p.off += 8
	return v, nil
}

// count reads a u64 count of items of at least minSize bytes each and
// checks that the rest of the file can hold them.
func (p *parser) count(what string, minSize int) (int, error) {
	at := p.off
	n, err := p.u64()
	if err != nil {
		return 0, err
	}
	if rest := uint64(len(p.b) - p.off); minSize > 0 && n > rest/uint64(minSize) {
		p.off = at
		return 0, p.fail(ErrTruncated, "%s count %d needs at least %d bytes each, the file has %d left", what, n, minSize, rest)
	}
	return int(n), nil
}

func (p *parser) str() (string, error) {
	n, err := p.count("string length", 1)
	if err != nil {
		return "", err
	}
	s := string(p.b[p.off : p.off+n])
	p.off += n
	return s, nil
}

func (p *parser) value(t ValueType, depth int) (Value, error) {
	if t == TypeArray {
		return p.array(depth)
	}
	if t == TypeString {
		s, err := p.str()
		return Value{typ: t, v: s}, err
	}
	size := t.size()
	if size == 0 {
		return Value{}, p.fail(ErrInvalid, "unknown value type %d", uint32(t))
	}
	if err := p.need(uint64(size)); err != nil {
		return Value{}, err
	}
	b := p.b[p.off:]
	p.off += size
	var v any
	switch t {
	case TypeUint8:
		v = b[0]
	case TypeInt8:
		v = int8(b[0])
	case TypeBool:
		v = b[0] != 0
	case TypeUint16:
		v = binary.LittleEndian.Uint16(b)
	case TypeInt16:
		v = int16(binary.LittleEndian.Uint16(b))
	case TypeUint32:
		v = binary.LittleEndian.Uint32(b)
	case TypeInt32:
		v = int32(binary.LittleEndian.Uint32(b))
	case TypeFloat32:
		v = math.Float32frombits(binary.LittleEndian.Uint32(b))
	case TypeUint64:
		v = binary.LittleEndian.Uint64(b)
	case TypeInt64:
		v = int64(binary.LittleEndian.Uint64(b))
	case TypeFloat64:
		v = math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return Value{typ: t, v: v}, nil
}

func (p *parser) array(depth int) (Value, error) {
	if depth >= maxDepth {
		return Value{}, p.fail(ErrInvalid, "arrays nested more than %d deep", maxDepth)
	}
	et, err := p.u32()
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		p.off -= 4
		return Value{}, p.fail(ErrInvalid, "unknown array element type %d", et)
	}
	n, err := p.count("array", elem.minSize())
	if err != nil {
		return Value{}, err
	}
	b := p.b[p.off:]
	le := binary.LittleEndian
	var v any
	switch elem {
	case TypeUint8:
		v = append([]uint8(nil), b[:n]...)
	case TypeInt8:
		v = decodeArray(b, n, 1, func(b []byte) int8 { return int8(b[0]) })
	case TypeBool:
		v = decodeArray(b, n, 1, func(b []byte) bool { return b[0] != 0 })
	case TypeUint16:
		v = decodeArray(b, n, 2, le.Uint16)
	case TypeInt16:
		v = decodeArray(b, n, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
	case TypeUint32:
		v = decodeArray(b, n, 4, le.Uint32)
	case TypeInt32:
		v = decodeArray(b, n, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
	case TypeFloat32:
		v = decodeArray(b, n, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case TypeUint64:
		v = decodeArray(b, n, 8, le.Uint64)
	case TypeInt64:
		v = decodeArray(b, n, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
	case TypeFloat64:
		v = decodeArray(b, n, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	case TypeString:
		a, err := p.strings(n)
		return Value{typ: TypeArray, elem: elem, v: a}, err
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = p.array(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return Value{typ: TypeArray, elem: elem, v: a}, nil
	}
	p.off += n * elem.size()
	return Value{typ: TypeArray, elem: elem, v: v}, nil
}

// strings reads n strings into one allocation: a vocabulary of 150 000
// tokens then costs two allocations, not 150 000.
func (p *parser) strings(n int) ([]string, error) {
	start := p.off
	total := 0
	for i := 0; i < n; i++ {
		l, err := p.count("string length", 1)
		if err != nil {
			return nil, err
		}
		p.off += l
		total += l
	}
	all := make([]byte, 0, total)
	p.off = start
	for i := 0; i < n; i++ {
		l := int(binary.LittleEndian.Uint64(p.b[p.off:]))
		all = append(all, p.b[p.off+8:p.off+8+l]...)
		p.off += 8 + l
	}
	joined := string(all)
	a := make([]string, n)
	pos := 0
	p.off = start
	for i := range a {
		l := int(binary.LittleEndian.Uint64(p.b[p.off:]))
		a[i] = joined[pos : pos+l]
		pos += l
		p.off += 8 + l
	}
	return a, nil
}

// parse reads everything but the tensor data, and checks where the data
// lies.
func parse(name string, b []byte) (*File, error) {
	p := &parser{name: name, b: b, section: "header"}
	magic := b[:min(4, len(b))]
	if string(magic) != "GGUF"[:len(magic)] {
		return nil, p.fail(ErrBadMagic, "magic %q, want \"GGUF\"", magic)
	}
	if len(b) < 4 {
		return nil, p.fail(ErrTruncated, "the file is %d bytes long, shorter than a header", len(b))
	}
	p.off = 4
	version, err := p.u32()
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return nil, p.fail(ErrVersion, "GGUF v1 is not supported (convert the model again)")
	case version&0xffff == 0 && bits.ReverseBytes32(version) <= 3:
		return nil, p.fail(ErrVersion, "big-endian GGUF files are not supported")
	default:
		return nil, p.fail(ErrVersion, "version %d (supported: 2 and 3)", version)
	}
	nTensors, err := p.count("tensor", 24)
	if err != nil {
		return nil, err
	}
	nKV, err := p.count("metadata", 13)
	if err != nil {
		return nil, err
	}
	f := &File{path: name, version: version, alignment: DefaultAlignment, index: make(map[string]int, nKV)}

	p.section = "metadata"
	f.kvs = make([]KV, 0, nKV)
	for i := 0; i < nKV; i++ {
		at := p.off
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		t, err := p.u32()
		if err != nil {
			return nil, err
		}
		if !ValueType(t).valid() {
			p.off -= 4
			return nil, p.fail(ErrInvalid, "key %q has unknown value type %d", key, t)
		}
		v, err := p.value(ValueType(t), 0)
		if err != nil {
			return nil, err
		}
		if _, dup := f.index[key]; dup {
			p.off = at
			return nil, p.fail(ErrInvalid, "duplicate key %q", key)
		}
		f.index[key] = len(f.kvs)
		f.kvs = append(f.kvs, KV{Key: key, Value: v})
	}
	if i, ok := f.index[KeyAlignment]; ok {
		v := f.kvs[i].Value
		a, isU32 := v.v.(uint32)
		switch {
		case !isU32:
			return nil, p.fail(ErrInvalid, "%s has type %s, want u32", KeyAlignment, v.TypeName())
		case a == 0 || a&(a-1) != 0 || a > maxAlignment:
			return nil, p.fail(ErrInvalid, "%s is %d, want a power of two up to %d", KeyAlignment, a, maxAlignment)
		}
		f.alignment = uint64(a)
	}

	p.section = "tensor infos"
	f.tensors = make([]TensorInfo, nTensors)
	f.tindex = make(map[string]int, nTensors)
	for i := range f.tensors {
		if err := p.tensorInfo(f, i); err != nil {
			return nil, err
		}
	}
	infosEnd := uint64(p.off)
	f.dataOffset = (infosEnd + f.alignment - 1) &^ (f.alignment - 1)
	if nTensors > 0 && f.dataOffset > uint64(len(b)) {
		return nil, p.fail(ErrTruncated, "the data section starts at byte %d, past the end of the file (%d bytes)", f.dataOffset, len(b))
	}
	if err := checkPlacement(p, f); err != nil {
		return nil, err
	}
	f.data = b
	return f, nil
}

func (p *parser) tensorInfo(f *File, i int) error {
	at := p.off
	name, err := p.str()
	if err != nil {
		return err
	}
	nd, err := p.u32()
	if err != nil {
		return err
	}
	if nd > MaxDims {
		p.off -= 4
		return p.fail(ErrInvalid, "tensor %q has %d dimensions, at most %d", name, nd, MaxDims)
	}
	shape := make([]uint64, nd)
	for d := range shape {
		if shape[d], err = p.u64(); err != nil {
			return err
		}
	}
	tt, err := p.u32()
	if err != nil {
		return err
	}
	typ := quant.Type(tt)
	if !typ.Known() {
		p.off -= 4
		return p.fail(ErrTensorType, "tensor %q has ggml type %d", name, tt)
	}
	offset, err := p.u64()
	if err != nil {
		return err
	}
	if _, dup := f.tindex[name]; dup {
		p.off = at
		return p.fail(ErrInvalid, "duplicate tensor %q", name)
	}
	size, err := tensorBytes(typ, shape)
	if err != nil {
		p.off = at
		return p.fail(ErrInvalid, "tensor %q: %v", name, err)
	}
	if offset%f.alignment != 0 {
		p.off -= 8
		return p.fail(ErrInvalid, "tensor %q data offset %d is not a multiple of the alignment %d", name, offset, f.alignment)
	}
	f.tensors[i] = TensorInfo{Name: name, Shape: shape, Type: typ, Offset: offset, Size: size}
	f.tindex[name] = i
	return nil
}

// tensorBytes is the size of a tensor's data, with overflow checks.
func tensorBytes(t quant.Type, shape []uint64) (uint64, error) {
	n := uint64(1)
	for _, d := range shape {
		if d > math.MaxInt64 {
			return 0, fmt.Errorf("dimension %d is too large", d)
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("element count of shape %v overflows", shape)
		}
		n = lo
	}
	bs := uint64(t.BlockSize())
	if len(shape) > 0 && shape[0]%bs != 0 {
		return 0, fmt.Errorf("%s rows of %d elements are not a multiple of its block size %d", t, shape[0], bs)
	}
	hi, size := bits.Mul64(n/bs, uint64(t.BlockBytes()))
	if hi != 0 || size > math.MaxInt64 {
		return 0, fmt.Errorf("byte size of shape %v overflows", shape)
	}
	return size, nil
}

// checkPlacement checks that every tensor lies inside the file and that
// no two overlap.
func checkPlacement(p *parser, f *File) error {
	dataLen := uint64(len(p.b)) - min(f.dataOffset, uint64(len(p.b)))
	order := make([]int, len(f.tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.tensors[order[a]].Offset < f.tensors[order[b]].Offset })
	p.off = len(p.b)
	var end uint64 // the furthest end of the tensors so far
	var last *TensorInfo
	for _, i := range order {
		t := &f.tensors[i]
		if t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return p.fail(ErrTruncated, "tensor %q data [%d, %d) lies past the end of the data section (%d bytes): the file is cut short or corrupt",
				t.Name, t.Offset, t.Offset+t.Size, dataLen)
		}
		if t.Size == 0 {
			continue
		}
		if t.Offset < end {
			return p.fail(ErrInvalid, "tensors %q and %q overlap", last.Name, t.Name)
		}
		end, last = t.Offset+t.Size, t
	}
	return nil
}

// decodeArray decodes n little-endian elements of size bytes each from b,
// which the caller has checked holds them.
func decodeArray[T any](b []byte, n, size int, decode func([]byte) T) []T {
	a := make([]T, n)
	for i := range a {
		a[i] = decode(b[size*i:])
	}
	return a
}
