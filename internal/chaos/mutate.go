package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// ggufField is a number in a GGUF header that says how much follows: a
// count, a string or array length, a dimension, a type or an offset.
type ggufField struct {
	Pos  int
	Size int // 4 or 8 bytes
	What string
}

// ggufFields walks a GGUF v3 header and returns where its counts,
// lengths, dimensions, types and offsets are, and where the header ends.
// It stops quietly at anything it does not understand: it only picks
// targets for corruption.
func ggufFields(b []byte) (fields []ggufField, end int) {
	pos := 0
	ok := true
	// num reads a little-endian number of size bytes (4 or 8), noting
	// its place as a field when what names it.
	num := func(what string, size int) uint64 {
		if !ok || pos+size > len(b) {
			ok = false
			return 0
		}
		if what != "" {
			fields = append(fields, ggufField{pos, size, what})
		}
		var v uint64
		if size == 4 {
			v = uint64(binary.LittleEndian.Uint32(b[pos:]))
		} else {
			v = binary.LittleEndian.Uint64(b[pos:])
		}
		pos += size
		return v
	}
	u32 := func(what string) uint32 { return uint32(num(what, 4)) }
	u64 := func(what string) uint64 { return num(what, 8) }
	skip := func(n uint64) {
		if !ok || n > uint64(len(b)-pos) {
			ok = false
			return
		}
		pos += int(n)
	}
	str := func(what string) { skip(u64(what + " length")) }
	sizes := map[uint32]uint64{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var value func(t uint32, what string)
	value = func(t uint32, what string) {
		switch {
		case t == 8:
			str(what)
		case t == 9:
			et := u32(what + " element type")
			n := u64(what + " array count")
			if n > uint64(len(b)) {
				ok = false
				return
			}
			if sz, fixed := sizes[et]; fixed {
				skip(n * sz)
				return
			}
			for i := uint64(0); i < n && ok; i++ {
				value(et, "")
			}
		default:
			sz, fixed := sizes[t]
			if !fixed {
				ok = false
				return
			}
			skip(sz)
		}
	}
	u32("") // magic
	u32("") // version
	nt := u64("tensor count")
	nkv := u64("metadata count")
	for i := uint64(0); i < nkv && ok; i++ {
		str("key")
		value(u32("value type"), "value")
	}
	for i := uint64(0); i < nt && ok; i++ {
		str("tensor name")
		nd := u32("tensor dimension count")
		for d := uint32(0); d < nd && d < 8 && ok; d++ {
			u64("tensor dimension")
		}
		u32("tensor type")
		u64("tensor offset")
	}
	return fields, pos
}

// hugeValues are the numbers a corrupted length field is set to.
var hugeValues = []uint64{0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 40, 1<<62 + 3, math.MaxInt64, math.MaxUint64}

// mutateGGUF returns a corrupted copy of a GGUF file and says how it was
// corrupted: random bytes flipped (in the header or anywhere), the file
// cut short, or one of its counts, lengths, dimensions, types or offsets
// set to an extreme or random value.
func mutateGGUF(r *rand.Rand, base []byte, fields []ggufField, headerEnd int) ([]byte, string) {
	b := bytes.Clone(base)
	switch k := r.IntN(10); {
	case k < 3 && len(fields) > 0:
		f := fields[r.IntN(len(fields))]
		var v uint64
		if r.IntN(2) == 0 {
			v = hugeValues[r.IntN(len(hugeValues))]
		} else {
			v = r.Uint64() >> r.IntN(64)
		}
		if f.Size == 4 {
			binary.LittleEndian.PutUint32(b[f.Pos:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[f.Pos:], v)
		}
		return b, fmt.Sprintf("%s at byte %d set to %d", f.What, f.Pos, v)
	case k < 5:
		n := 1 + r.IntN(8)
		for range n {
			b[r.IntN(headerEnd)] ^= byte(1 + r.IntN(255))
		}
		return b, fmt.Sprintf("%d header bytes flipped", n)
	case k < 7:
		n := 1 + r.IntN(64)
		for range n {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
		return b, fmt.Sprintf("%d bytes flipped", n)
	default:
		cut := r.IntN(len(b))
		if r.IntN(2) == 0 {
			cut = r.IntN(headerEnd + 64)
		}
		return b[:cut], fmt.Sprintf("cut to %d of %d bytes", cut, len(base))
	}
}
