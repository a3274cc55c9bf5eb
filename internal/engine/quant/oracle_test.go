package quant

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The golden file holds inputs and outputs of the real ggml libraries of
// the pinned llama.cpp (written by testdata/oracle/ggml_oracle.c with the
// "haswell" CPU variant, i.e. AVX2): the type table, f16/bf16
// conversions, and for each type the reference-quantised weights, the hash
// of their dequantisation, the activations converted to the vec-dot type
// and the vec_dot results.
const (
	goldenK     = 512
	goldenWRows = 14
	goldenARows = 6
)

func loadGolden(t *testing.T) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/ggml_golden.bin")
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string][]byte{}
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatal("golden: truncated")
		}
		l := int(binary.LittleEndian.Uint32(b))
		name := string(b[4 : 4+l])
		b = b[4+l:]
		n := int(binary.LittleEndian.Uint64(b))
		recs[name] = b[8 : 8+n]
		b = b[8+n:]
	}
	return recs
}

func floats(b []byte) []float32 {
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return f
}

func halves(b []byte) []uint16 {
	h := make([]uint16, len(b)/2)
	for i := range h {
		h[i] = binary.LittleEndian.Uint16(b[i*2:])
	}
	return h
}

func TestGoldenTypeTable(t *testing.T) {
	g := loadGolden(t)
	sc := bufio.NewScanner(bytes.NewReader(g["types"]))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		id, _ := strconv.Atoi(f[0])
		bs, _ := strconv.Atoi(f[len(f)-2])
		tb, _ := strconv.Atoi(f[len(f)-1])
		typ := Type(id)
		if bs == 0 { // removed type
			if typ.Known() {
				t.Errorf("type %d: ggml has no such type, we know it as %s", id, typ)
			}
			continue
		}
		n++
		if typ.String() != f[1] || typ.BlockSize() != bs || typ.BlockBytes() != tb {
			t.Errorf("type %d: ggml says %s %d %d, we say %s %d %d", id, f[1], bs, tb, typ, typ.BlockSize(), typ.BlockBytes())
		}
	}
	if n < 30 {
		t.Fatalf("only %d types in the golden table", n)
	}
}

func TestGoldenConversions(t *testing.T) {
	g := loadGolden(t)
	in := floats(g["conv/f32"])
	for _, c := range []struct {
		name string
		conv func(float32) uint16
	}{
		{"conv/f16", F32ToF16}, {"conv/f16cpu", F32ToF16}, {"conv/bf16", F32ToBF16}, {"conv/bf16cpu", F32ToBF16},
	} {
		want := halves(g[c.name])
		bad := 0
		for i, f := range in {
			if got := c.conv(f); got != want[i] {
				if bad++; bad < 5 {
					t.Errorf("%s(%g = %#08x) = %#04x, ggml %#04x", c.name, f, math.Float32bits(f), got, want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d differ", c.name, bad, len(in))
		}
	}
}

// TestGoldenKernels checks every tier this CPU runs against ggml.
func TestGoldenKernels(t *testing.T) {
	g := loadGolden(t)
	for _, tier := range KernelTiers() {
		t.Run(tier, func(t *testing.T) { withTier(t, tier, func() { goldenKernels(t, g) }) })
	}
}

func goldenKernels(t *testing.T, g map[string][]byte) {
	w := floats(g["weights"])
	a := floats(g["acts"])
	for _, typ := range testTypes {
		t.Run(typ.String(), func(t *testing.T) {
			name := typ.String()
			rb, _ := typ.RowBytes(goldenK)

			// Reference quantiser: identical bytes.
			wantQ := g[name+"/quant"]
			gotQ := make([]byte, len(wantQ))
			if err := Quantize(typ, gotQ, w); err != nil {
				t.Fatal(err)
			}
			for r := 0; r < goldenWRows; r++ {
				if !bytes.Equal(gotQ[r*rb:(r+1)*rb], wantQ[r*rb:(r+1)*rb]) {
					t.Errorf("quantise row %d differs from ggml (first difference at byte %d)", r, firstDiff(gotQ[r*rb:(r+1)*rb], wantQ[r*rb:(r+1)*rb]))
				}
			}

			// Dequantisation of ggml's bytes: identical floats.
			deq := make([]float32, len(w))
			if err := Dequantize(typ, deq, wantQ); err != nil {
				t.Fatal(err)
			}
			h := fnv.New64a()
			for _, f := range deq {
				binary.Write(h, binary.LittleEndian, math.Float32bits(f))
			}
			if got, want := h.Sum64(), binary.LittleEndian.Uint64(g[name+"/dequant_fnv64"]); got != want {
				t.Errorf("dequantised rows hash %#x, ggml %#x", got, want)
			}

			// Activation conversion: identical bytes.
			vt, _ := typ.VecDotType()
			if want := Type(binary.LittleEndian.Uint32(g[name+"/vec_dot_type"])); vt != want {
				t.Fatalf("vec-dot type %s, ggml %s", vt, want)
			}
			ars, _ := vt.RowBytes(goldenK)
			wantA := g[name+"/actq"]
			vs := make([]Vector, goldenARows)
			for c := range vs {
				if err := vs[c].Quantize(vt, a[c*goldenK:(c+1)*goldenK]); err != nil {
					t.Fatal(err)
				}
				if got := vs[c].AppendGGML(nil); !bytes.Equal(got, wantA[c*ars:(c+1)*ars]) {
					t.Errorf("activation row %d as %s differs from ggml (first difference at byte %d)", c, vt, firstDiff(got, wantA[c*ars:(c+1)*ars]))
				}
			}

			// Dot products: equal up to the order of float additions.
			wantD := floats(g[name+"/dot"])
			for r := 0; r < goldenWRows; r++ {
				for c := 0; c < goldenARows; c++ {
					got, err := VecDot(typ, wantQ[r*rb:(r+1)*rb], &vs[c])
					if err != nil {
						t.Fatal(err)
					}
					var mag float64
					av := make([]float32, goldenK)
					vs[c].dequantizeInto(av)
					for j := 0; j < goldenK; j++ {
						mag += math.Abs(float64(deq[r*goldenK+j]) * float64(av[j]))
					}
					want := wantD[r*goldenARows+c]
					if d := math.Abs(float64(got) - float64(want)); d > 2e-6*mag+1e-30 {
						t.Errorf("dot(row %d, act %d) = %g, ggml %g (|diff| %g, scale %g)", r, c, got, want, d, mag)
					}
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// bulkRows makes the same rows as bulk_row in ggml_oracle.c, with integer
// arithmetic and exact scaling only.
type bulkRNG uint64

func (s *bulkRNG) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func (s *bulkRNG) int(n int64) int64 { return int64(s.next()%uint64(2*n+1)) - n }

func (s *bulkRNG) row(r int, x []float32) {
	e := 8 + int(s.next()%12)
	for j := range x {
		var v int64
		ej := e
		switch r % 6 {
		case 0:
			v = s.int(10000)
		case 1:
			v = s.int(10000) + s.int(10000) + s.int(10000)
		case 2:
			if s.next()%23 == 0 {
				v = s.int(1000000)
			} else {
				v = s.int(100)
			}
		case 3:
			v = 20000 + s.int(3000)
		case 4:
			v = s.int(16) * 256
			ej = 11
		default:
			v = s.int(10000)
			ej = e + (j/32)%4*3
		}
		x[j] = float32(math.Ldexp(float64(v), -ej))
	}
}

// TestGoldenBulk checks every tier this CPU runs against ggml.
func TestGoldenBulk(t *testing.T) {
	g := loadGolden(t)
	for _, tier := range KernelTiers() {
		t.Run(tier, func(t *testing.T) { withTier(t, tier, func() { goldenBulk(t, g) }) })
	}
}

func goldenBulk(t *testing.T, g map[string][]byte) {
	const rows, k = 1024, 256
	check := func(t *testing.T, name string, typ Type, conv func(dst []byte, x []float32)) {
		want := g[name]
		if len(want) != rows*8 {
			t.Fatalf("%s: golden record missing", name)
		}
		rng := bulkRNG(12345)
		x := make([]float32, k)
		rb, _ := typ.RowBytes(k)
		buf := make([]byte, rb)
		bad := 0
		for r := 0; r < rows; r++ {
			rng.row(r, x)
			conv(buf, x)
			h := fnv.New64a()
			h.Write(buf)
			if h.Sum64() != binary.LittleEndian.Uint64(want[r*8:]) {
				if bad++; bad <= 3 {
					t.Errorf("row %d (kind %d): bytes differ from ggml", r, r%6)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d rows differ", bad, rows)
		}
	}
	for _, typ := range testTypes {
		t.Run("quant/"+typ.String(), func(t *testing.T) {
			check(t, "bulk/quant/"+typ.String(), typ, func(dst []byte, x []float32) {
				if err := Quantize(typ, dst, x); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
	for _, typ := range []Type{Q8_0, Q8_1, Q8_K} {
		t.Run("act/"+typ.String(), func(t *testing.T) {
			var v Vector
			check(t, "bulk/act/"+typ.String(), typ, func(dst []byte, x []float32) {
				if err := v.Quantize(typ, x); err != nil {
					t.Fatal(err)
				}
				copy(dst, v.AppendGGML(dst[:0]))
			})
		})
	}
}
