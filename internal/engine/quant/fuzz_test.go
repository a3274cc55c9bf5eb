package quant

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzKernels runs every kernel on arbitrary bytes and floats: lengths
// that do not fit must be errors, and nothing may panic, whatever the
// scales (NaN and infinities included).
func FuzzKernels(f *testing.F) {
	f.Add(uint8(8), []byte{0x00, 0x3c, 1, 2, 3}, []byte{0, 0, 0x80, 0x3f})
	f.Add(uint8(12), make([]byte, 144), make([]byte, 1024))
	f.Add(uint8(14), make([]byte, 210), []byte{0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, typ uint8, w []byte, xb []byte) {
		tp := Type(typ % numTypes)
		x := make([]float32, len(xb)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(xb[4*i:]))
		}
		if !tp.Supported() {
			if Dequantize(tp, x, w) == nil {
				t.Fatalf("%s: Dequantize accepted an unsupported type", tp)
			}
			return
		}
		// Fit the activations to whole blocks, then use as many weight
		// bytes as they need, repeating the input.
		bs := tp.BlockSize()
		if bs > 1 && len(x) > 0 {
			x = append(x, make([]float32, (bs-len(x)%bs)%bs)...)
		}
		need, err := tp.RowBytes(len(x))
		if err != nil {
			t.Fatal(err)
		}
		if len(w) == 0 {
			w = []byte{0}
		}
		row := make([]byte, need)
		for i := range row {
			row[i] = w[i%len(w)]
		}
		out := make([]float32, len(x))
		if err := Dequantize(tp, out, row); err != nil {
			t.Fatal(err)
		}
		if _, err := Dot(tp, row, x); err != nil {
			t.Fatal(err)
		}
		if _, err := DotFloat(tp, row, x); err != nil {
			t.Fatal(err)
		}
		if err := Quantize(tp, row, x); err != nil {
			t.Fatal(err)
		}
		if len(row) > 0 && Dequantize(tp, out, row[:len(row)-1]) == nil {
			t.Fatal("short row accepted")
		}
	})
}
