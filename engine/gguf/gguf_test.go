package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// allValues has a key of every value type, arrays of every element type,
// arrays of arrays, empty arrays and awkward strings.
var allValues = []struct {
	key string
	v   any
}{
	{"t.u8", uint8(200)}, {"t.i8", int8(-100)}, {"t.u16", uint16(60000)}, {"t.i16", int16(-30000)},
	{"t.u32", uint32(4000000000)}, {"t.i32", int32(-2000000000)}, {"t.f32", float32(3.25)},
	{"t.bool", true}, {"t.false", false}, {"t.string", "héllo\x00world"}, {"t.empty", ""},
	{"t.u64", uint64(1) << 63}, {"t.i64", int64(-1) << 62}, {"t.f64", math.Pi},
	{"a.u8", []uint8{1, 2, 255}}, {"a.i8", []int8{-1, 2}}, {"a.u16", []uint16{1, 65535}}, {"a.i16", []int16{-2, 3}},
	{"a.u32", []uint32{7}}, {"a.i32", []int32{1, -1, 3}}, {"a.f32", []float32{0.5, -1e30}},
	{"a.bool", []bool{true, false, true}}, {"a.string", []string{"a b", "", "ü", "tok\n"}},
	{"a.u64", []uint64{1 << 60}}, {"a.i64", []int64{-5}}, {"a.f64", []float64{1e300, -0.0}},
	{"a.empty", []string{}},
	{"a.nested", []Value{mustValue([]int32{1, 2}), mustValue([]string{"x"}), mustValue([]Value{mustValue([]uint8{9})})}},
}

func mustValue(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}

type testTensor struct {
	name  string
	typ   quant.Type
	shape []uint64
	data  []byte
}

func testTensors() []testTensor {
	mk := func(name string, t quant.Type, shape ...uint64) testTensor {
		size, err := tensorBytes(t, shape)
		if err != nil {
			panic(err)
		}
		d := make([]byte, size)
		for i := range d {
			d[i] = byte(i*7 + len(name))
		}
		return testTensor{name, t, shape, d}
	}
	return []testTensor{
		mk("token_embd.weight", quant.Q8_0, 64, 10),
		mk("blk.0.attn_norm.weight", quant.F32, 64),
		mk("blk.0.ffn_up.weight", quant.Q4_K, 256, 3),
		mk("odd", quant.F16, 3, 5, 1, 2),
		mk("blk.0.attn_q.bias", quant.BF16, 7),
		mk("iq", quant.IQ2_XS, 256, 1),
	}
}

func buildFile(t testing.TB, alignment uint32) ([]byte, *Writer) {
	t.Helper()
	w := NewWriter()
	if alignment != 0 {
		if err := w.SetAlignment(alignment); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Set(KeyArchitecture, "qwen2"); err != nil {
		t.Fatal(err)
	}
	for _, kv := range allValues {
		if err := w.Set(kv.key, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range testTensors() {
		if err := w.AddTensor(tt.name, tt.typ, tt.shape, tt.data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v (buffer %d)", n, err, buf.Len())
	}
	return buf.Bytes(), w
}

func checkFile(t *testing.T, f *File, alignment uint64) {
	t.Helper()
	if f.Version() != 3 || f.Alignment() != alignment || f.DataOffset()%alignment != 0 {
		t.Errorf("version %d alignment %d data offset %d", f.Version(), f.Alignment(), f.DataOffset())
	}
	if a, err := f.Architecture(); err != nil || a != "qwen2" {
		t.Errorf("Architecture = %q, %v", a, err)
	}
	for _, kv := range allValues {
		v, ok := f.Lookup(kv.key)
		if !ok {
			t.Errorf("key %q missing", kv.key)
			continue
		}
		want := mustValue(kv.v)
		if !reflect.DeepEqual(v, want) {
			t.Errorf("key %q = %s %v, want %s %v", kv.key, v.TypeName(), v, want.TypeName(), want)
		}
	}
	// Order is kept.
	keys := []string{}
	for _, kv := range f.KVs() {
		keys = append(keys, kv.Key)
	}
	if keys[len(keys)-1] != "a.nested" {
		t.Errorf("keys out of order: %v", keys)
	}
	tts := testTensors()
	if len(f.Tensors()) != len(tts) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors()), len(tts))
	}
	for i, want := range tts {
		info := f.Tensors()[i]
		if info.Name != want.name || info.Type != want.typ || !reflect.DeepEqual(info.Shape, want.shape) || info.Offset%alignment != 0 {
			t.Errorf("tensor %d = %+v, want %s %s %v", i, info, want.name, want.typ, want.shape)
		}
		tn, err := f.Tensor(want.name)
		if err != nil || !bytes.Equal(tn.Data, want.data) {
			t.Errorf("tensor %q data differs (%v)", want.name, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, alignment := range []uint32{0, 64, 1} {
		t.Run("alignment "+map[uint32]string{0: "default", 64: "64", 1: "1"}[alignment], func(t *testing.T) {
			b, w := buildFile(t, alignment)
			want := uint64(alignment)
			if want == 0 {
				want = 32
			}
			f, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, f, want)

			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := w.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			f, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, f, want)
			if f.Path() != path {
				t.Errorf("Path = %q", f.Path())
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Tensor("odd"); !errors.Is(err, ErrClosed) {
				t.Errorf("Tensor after Close: %v", err)
			}
			if err := f.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestWriterLayoutIsLlamaCpps(t *testing.T) {
	b, _ := buildFile(t, 0)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	// llama.cpp demands each tensor at the padded end of the previous one,
	// and a data section padded to the alignment at the end too.
	var next uint64
	for _, ti := range f.Tensors() {
		if ti.Offset != next {
			t.Errorf("tensor %q at %d, llama.cpp expects %d", ti.Name, ti.Offset, next)
		}
		next = (ti.Offset + ti.Size + 31) &^ 31
	}
	if uint64(len(b)) != f.DataOffset()+next {
		t.Errorf("file is %d bytes, want data offset %d + padded data %d", len(b), f.DataOffset(), next)
	}
	// general.alignment is written only when set.
	if f.Has(KeyAlignment) {
		t.Error("default alignment should not be written")
	}
}

func TestStreamingTensor(t *testing.T) {
	w := NewWriter()
	data := bytes.Repeat([]byte{1, 2, 3, 4}, 100)
	if err := w.AddTensorFunc("x", quant.F32, []uint64{100}, func(out io.Writer) error {
		_, err := out.Write(data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := f.Tensor("x")
	if !bytes.Equal(tn.Data, data) {
		t.Error("streamed data differs")
	}
	w = NewWriter()
	w.AddTensorFunc("short", quant.F32, []uint64{100}, func(out io.Writer) error {
		_, err := out.Write(data[:10])
		return err
	})
	if _, err := w.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "wrote 10 bytes") {
		t.Errorf("short stream: %v", err)
	}
	w = NewWriter()
	boom := errors.New("boom")
	w.AddTensorFunc("fails", quant.F32, []uint64{1}, func(io.Writer) error { return boom })
	if _, err := w.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Errorf("failing stream: %v", err)
	}
}

func TestWriterRejects(t *testing.T) {
	w := NewWriter()
	ok := make([]byte, 4*32)
	tests := []struct {
		name string
		err  error
	}{
		{"int is ambiguous", w.Set("k", 5)},
		{"unknown Go type", w.Set("k", struct{}{})},
		{"empty key", w.Set("", uint32(1))},
		{"alignment not u32", w.Set(KeyAlignment, uint64(32))},
		{"alignment not power of two", w.SetAlignment(48)},
		{"alignment zero", w.SetAlignment(0)},
		{"array of non-arrays", w.Set("k", []Value{mustValue(uint8(1))})},
		{"empty name", w.AddTensor("", quant.F32, []uint64{32}, ok)},
		{"long name", w.AddTensor(strings.Repeat("n", 64), quant.F32, []uint64{32}, ok)},
		{"five dims", w.AddTensor("a", quant.F32, []uint64{1, 1, 1, 1, 32}, ok)},
		{"unknown type", w.AddTensor("a", quant.Type(4), []uint64{32}, ok)},
		{"partial block", w.AddTensor("a", quant.Q8_0, []uint64{33}, ok)},
		{"wrong size", w.AddTensor("a", quant.F32, []uint64{31}, ok)},
		{"overflow", w.AddTensor("a", quant.F32, []uint64{1 << 40, 1 << 40}, ok)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if err := w.AddTensor("a", quant.F32, []uint64{32}, ok); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("a", quant.F32, []uint64{32}, ok); err == nil {
		t.Error("duplicate tensor accepted")
	}
	if err := w.SetAlignment(64); err == nil {
		t.Error("alignment after tensors accepted")
	}
	if err := w.Set("k", uint8(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Set("k", "replaced"); err != nil || len(w.kvs) != 1 || w.kvs[0].Value.v != "replaced" {
		t.Errorf("replacing a key: %v %v", err, w.kvs)
	}
}

func TestGetters(t *testing.T) {
	b, _ := buildFile(t, 0)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Get[uint32](f, "t.u32"); err != nil || v != 4000000000 {
		t.Errorf("Get u32 = %d, %v", v, err)
	}
	if v, err := Get[[]string](f, "a.string"); err != nil || len(v) != 4 || v[2] != "ü" {
		t.Errorf("Get []string = %q, %v", v, err)
	}
	_, err = Get[uint32](f, "t.i32")
	var ke *KeyError
	if !errors.As(err, &ke) || !errors.Is(err, ErrWrongType) || ke.Want != "u32" || ke.Got != "i32" ||
		!strings.Contains(err.Error(), `"t.i32" has type i32, want u32`) {
		t.Errorf("wrong type error: %v", err)
	}
	_, err = Get[[]int32](f, "a.string")
	if !errors.Is(err, ErrWrongType) || !strings.Contains(err.Error(), "array[string], want array[i32]") {
		t.Errorf("wrong array type error: %v", err)
	}
	_, err = Get[string](f, "nope")
	if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), `required key "nope" (string) is missing`) {
		t.Errorf("missing key error: %v", err)
	}
	if v, err := GetOr(f, "nope", float32(1.5)); err != nil || v != 1.5 {
		t.Errorf("GetOr default = %v, %v", v, err)
	}
	if _, err := GetOr(f, "t.u8", float32(1.5)); !errors.Is(err, ErrWrongType) {
		t.Errorf("GetOr wrong type: %v", err)
	}
	for key, want := range map[string]int64{"t.u8": 200, "t.i8": -100, "t.u32": 4000000000, "t.i64": -1 << 62} {
		if v, err := f.Int(key); err != nil || v != want {
			t.Errorf("Int(%s) = %d, %v", key, v, err)
		}
	}
	if _, err := f.Int("t.u64"); err == nil {
		t.Error("Int of 2^63 accepted")
	}
	if _, err := f.Int("t.f32"); !errors.Is(err, ErrWrongType) {
		t.Errorf("Int of f32: %v", err)
	}
	if v, err := Get[[]Value](f, "a.nested"); err != nil || len(v) != 3 {
		t.Errorf("nested = %v, %v", v, err)
	}
	if k, err := f.ArchKey("context_length"); err != nil || k != "qwen2.context_length" {
		t.Errorf("ArchKey = %q, %v", k, err)
	}
	if _, err := ArchGet[uint32](f, "context_length"); !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "qwen2.context_length") {
		t.Errorf("ArchGet missing: %v", err)
	}
	if v, err := ArchGetOr(f, "rope.freq_base", float32(10000)); err != nil || v != 10000 {
		t.Errorf("ArchGetOr = %v, %v", v, err)
	}
	if _, err := f.Tensor("nope"); !errors.Is(err, ErrTensorNotFound) {
		t.Errorf("missing tensor: %v", err)
	}
	if s := mustValue([]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}).String(); s != "[1 2 3 4 5 6 7 8 … (10)]" {
		t.Errorf("String = %q", s)
	}
}

func TestTensorFloats(t *testing.T) {
	w := NewWriter()
	x := []float32{1, 2, 3, 4}
	data := make([]byte, 16)
	for i, v := range x {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	w.AddTensor("m", F32, []uint64{2, 2}, data)
	var buf bytes.Buffer
	w.WriteTo(&buf)
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if fl, err := f.Floats("m"); err != nil || !reflect.DeepEqual(fl, x) {
		t.Errorf("Floats = %v, %v", fl, err)
	}
	if _, err := f.Floats("nope"); !errors.Is(err, ErrTensorNotFound) {
		t.Errorf("Floats of a missing tensor: %v", err)
	}
	b, _ := buildFile(t, 0)
	g, _ := Parse(b)
	if _, err := g.Floats("iq"); !errors.Is(err, quant.ErrUnsupported) {
		t.Errorf("Floats of an unsupported type: %v", err)
	}
}

func TestTokenizer(t *testing.T) {
	w := NewWriter()
	w.Set("tokenizer.ggml.model", "gpt2")
	w.Set("tokenizer.ggml.pre", "qwen2")
	w.Set("tokenizer.ggml.tokens", []string{"a", "b", "<|im_end|>"})
	w.Set("tokenizer.ggml.token_type", []int32{1, 1, 3})
	w.Set("tokenizer.ggml.merges", []string{"a b"})
	w.Set("tokenizer.ggml.eos_token_id", uint32(2))
	w.Set("tokenizer.ggml.padding_token_id", int32(2))
	w.Set("tokenizer.ggml.add_bos_token", false)
	w.Set("tokenizer.chat_template", "{{ x }}")
	var buf bytes.Buffer
	w.WriteTo(&buf)
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Model != "gpt2" || tok.Pre != "qwen2" || len(tok.Tokens) != 3 || tok.Types[2] != 3 || tok.Merges[0] != "a b" ||
		tok.Scores != nil || tok.Special["eos"] != 2 || tok.Special["padding"] != 2 || tok.AddBOS == nil || *tok.AddBOS ||
		tok.AddEOS != nil || tok.ChatTemplate != "{{ x }}" {
		t.Errorf("tokenizer = %+v", tok)
	}

	w.Set("tokenizer.ggml.scores", []float32{1})
	buf.Reset()
	w.WriteTo(&buf)
	f, _ = Parse(buf.Bytes())
	if _, err := f.Tokenizer(); err == nil || !strings.Contains(err.Error(), "scores has 1 entries for 3 tokens") {
		t.Errorf("short scores: %v", err)
	}
	w.Set("tokenizer.ggml.scores", []float32{1, 2, 3})
	w.Set("tokenizer.ggml.tokens", []int32{1})
	buf.Reset()
	w.WriteTo(&buf)
	f, _ = Parse(buf.Bytes())
	if _, err := f.Tokenizer(); !errors.Is(err, ErrWrongType) {
		t.Errorf("tokens of the wrong type: %v", err)
	}
}
