package gguf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
)

func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, a := range []uint32{0, 64} {
		b, _ := buildFile(t, a)
		seeds = append(seeds, b)
	}
	w := NewWriter()
	w.Set("tokenizer.ggml.model", "gpt2")
	w.Set("tokenizer.ggml.tokens", []string{"a", "b"})
	w.Set("tokenizer.ggml.token_type", []int32{1, 3})
	w.Set("tokenizer.ggml.bos_token_id", uint32(1))
	w.Set(KeyArchitecture, "llama")
	w.AddTensor("m", quant.Q4_0, []uint64{32, 2}, make([]byte, 36))
	w.AddTensor("v", quant.F32, []uint64{4}, make([]byte, 16))
	var buf bytes.Buffer
	w.WriteTo(&buf)
	seeds = append(seeds, buf.Bytes())
	seeds = append(seeds,
		header(3, 2, 0).tensor("a", 0, 0, 16).tensor("b", 0, 32, 8).finish(64),
		header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeArray)).u64(1).u32(uint32(TypeString)).u64(1).str("x").Bytes(),
		header(2, 0, 0).Bytes(),
	)
	return seeds
}

// FuzzParse feeds arbitrary bytes to the parser. It must never panic; a
// file it accepts must have consistent tensors, survive every accessor,
// and come back the same through Writer.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, kv := range file.KVs() {
			_ = kv.Value.String()
			_, _ = file.Int(kv.Key)
			_, _ = Get[string](file, kv.Key)
			_, _ = Get[[]string](file, kv.Key)
		}
		_, _ = file.Tokenizer()
		_, _ = file.Architecture()
		w := NewWriter()
		rewritable := true
		for _, kv := range file.KVs() {
			if err := w.Set(kv.Key, kv.Value); err != nil {
				rewritable = false
			}
		}
		for _, ti := range file.Tensors() {
			tn, err := file.Tensor(ti.Name)
			if err != nil {
				t.Fatalf("listed tensor %q: %v", ti.Name, err)
			}
			if uint64(len(tn.Data)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes of data, size %d", ti.Name, len(tn.Data), ti.Size)
			}
			// The engine binds 2-D tensors as weight matrices.
			if ti.Type.Supported() && len(ti.Shape) == 2 && ti.Elements() > 0 && ti.Elements() <= 1<<12 {
				if m, err := quant.NewMatrix(ti.Type, int(ti.Shape[1]), int(ti.Shape[0]), tn.Data, nil); err == nil {
					x := make([]float32, m.Cols())
					m.MatVec(make([]float32, m.Rows()), x)
				}
			}
			if err := w.AddTensor(ti.Name, ti.Type, ti.Shape, tn.Data); err != nil {
				rewritable = false
			}
		}
		if !rewritable || file.Alignment() != DefaultAlignment && !file.Has(KeyAlignment) {
			return
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatalf("rewriting: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-reading the rewritten file: %v", err)
		}
		// Writing what was read back must give the same bytes (comparing
		// values would trip over NaNs).
		w2 := NewWriter()
		for _, kv := range again.KVs() {
			if err := w2.Set(kv.Key, kv.Value); err != nil {
				t.Fatalf("key %q read back: %v", kv.Key, err)
			}
		}
		for _, ti := range again.Tensors() {
			tn, _ := again.Tensor(ti.Name)
			if err := w2.AddTensor(ti.Name, ti.Type, ti.Shape, tn.Data); err != nil {
				t.Fatalf("tensor %q read back: %v", ti.Name, err)
			}
		}
		var buf2 bytes.Buffer
		if _, err := w2.WriteTo(&buf2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("the file changed through reader and writer")
		}
		if len(again.KVs()) != len(file.KVs()) || len(again.Tensors()) != len(file.Tensors()) {
			t.Fatalf("keys or tensors lost")
		}
		for i, kv := range file.KVs() {
			if again.KVs()[i].Key != kv.Key || again.KVs()[i].Value.TypeName() != kv.Value.TypeName() {
				t.Fatalf("key %q changed", kv.Key)
			}
		}
		for _, ti := range file.Tensors() {
			a, _ := file.Tensor(ti.Name)
			b, err := again.Tensor(ti.Name)
			if err != nil || !bytes.Equal(a.Data, b.Data) || !reflect.DeepEqual(a.Shape, b.Shape) || a.Type != b.Type {
				t.Fatalf("tensor %q changed through the writer", ti.Name)
			}
		}
	})
}

// TestWriteFuzzSeeds refreshes the seed corpus in testdata/fuzz when
// TETHER_WRITE_FUZZ_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("TETHER_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set TETHER_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzParse seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
