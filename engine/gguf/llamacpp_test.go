package gguf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// ggmlLibDir is where tools/oracle's npm install puts llama.cpp's
// libraries (linux x64).
const ggmlLibDir = "../../tools/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"

// ggufDump builds testdata/oracle/gguf_dump.c, or skips the test when
// there is no C compiler or no llama.cpp library here.
func ggufDump(t *testing.T) (dump func(args ...string) (string, error)) {
	t.Helper()
	lib, err := filepath.Abs(ggmlLibDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lib, "libggml-base.so")); err != nil {
		oracleMissing(t, "llama.cpp libraries not installed (run npm ci in tools/oracle)")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		oracleMissing(t, "no gcc to build the llama.cpp GGUF reader harness")
	}
	bin := filepath.Join(t.TempDir(), "gguf_dump")
	if out, err := exec.Command(gcc, "-O1", "-o", bin, "testdata/oracle/gguf_dump.c", "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("building gguf_dump: %v\n%s", err, out)
	}
	return func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{lib}, args...)...).Output()
		return string(out), err
	}
}

// dumpOf formats a File the way gguf_dump prints llama.cpp's view.
func dumpOf(f *File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d\nalignment %d\ndata_offset %d\n", f.Version(), f.Alignment(), f.DataOffset())
	scalar := func(x any) string {
		switch x := x.(type) {
		case float32:
			return fmt.Sprintf("%.9g", float64(x))
		case float64:
			return fmt.Sprintf("%.17g", x)
		case string:
			return "[" + x + "]"
		}
		return fmt.Sprint(x)
	}
	for _, kv := range f.KVs() {
		fmt.Fprintf(&b, "kv %s %d ", kv.Key, kv.Value.Type())
		if kv.Value.Type() != TypeArray {
			b.WriteString(scalar(kv.Value.Any()))
		} else {
			fmt.Fprintf(&b, "%d %d", kv.Value.ElemType(), kv.Value.Len())
			var items []string
			switch a := kv.Value.Any().(type) {
			case []string:
				for _, s := range a {
					items = append(items, scalar(s))
				}
			case []float32:
				for _, v := range a {
					items = append(items, scalar(v))
				}
			case []float64:
				for _, v := range a {
					items = append(items, scalar(v))
				}
			default:
				s := strings.Trim(fmt.Sprint(a), "[]")
				items = strings.Fields(s)
			}
			for _, it := range items {
				b.WriteString(" " + it)
			}
		}
		b.WriteString("\n")
	}
	for _, ti := range f.Tensors() {
		ne := [4]uint64{1, 1, 1, 1}
		copy(ne[:], ti.Shape)
		fmt.Fprintf(&b, "tensor %s %d %d %d %d %d %d %d\n", ti.Name, ti.Type, ti.Offset, ti.Size, ne[0], ne[1], ne[2], ne[3])
	}
	return b.String()
}

// TestLlamaCppReadsWhatWeWrite loads files from Writer with llama.cpp's
// GGUF reader and checks that it sees what our reader sees.
func TestLlamaCppReadsWhatWeWrite(t *testing.T) {
	dump := ggufDump(t)
	for _, alignment := range []uint32{0, 64} {
		t.Run(fmt.Sprint("alignment ", alignment), func(t *testing.T) {
			w := NewWriter()
			if alignment != 0 {
				w.SetAlignment(alignment)
			}
			w.Set(KeyArchitecture, "llama")
			for _, kv := range allValues {
				switch kv.key {
				case "t.string", "a.nested": // llama.cpp stops at NUL; has no nested arrays
					continue
				}
				if err := w.Set(kv.key, kv.v); err != nil {
					t.Fatal(err)
				}
			}
			for _, tt := range testTensors() {
				if err := w.AddTensor(tt.name, tt.typ, tt.shape, tt.data); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			if err := w.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			got, err := dump(path)
			if err != nil {
				t.Fatalf("llama.cpp could not load the file: %v\n%s", err, got)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Logf("llama.cpp read:\n%s", got)
			if want := dumpOf(f); got != want {
				t.Errorf("llama.cpp read:\n%s\nwe read:\n%s", got, want)
			}
		})
	}
	t.Run("metadata only", func(t *testing.T) {
		w := NewWriter()
		w.Set("general.name", "no tensors")
		path := filepath.Join(t.TempDir(), "meta.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		out, err := dump(path)
		if err != nil || !strings.Contains(out, "kv general.name 8 [no tensors]") {
			t.Errorf("llama.cpp read %q, %v", out, err)
		}
	})
	t.Run("nested arrays", func(t *testing.T) {
		// Our reader and writer support arrays of arrays (GGUF allows
		// them); llama.cpp's reader refuses them. Pin that, since a
		// synthetic model must not contain any.
		w := NewWriter()
		w.Set("a.nested", []Value{mustValue([]int32{1})})
		w.AddTensor("x", quant.F32, []uint64{1}, make([]byte, 4))
		path := filepath.Join(t.TempDir(), "nested.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		if out, err := dump(path); err == nil {
			t.Errorf("llama.cpp loaded nested arrays:\n%s", out)
		}
	})
}

// TestWeReadWhatLlamaCppWrites has llama.cpp's writer make a file and
// checks that our reader sees what llama.cpp's reader sees.
func TestWeReadWhatLlamaCppWrites(t *testing.T) {
	dump := ggufDump(t)
	path := filepath.Join(t.TempDir(), "llama.gguf")
	want, err := dump("-write", path)
	if err != nil {
		t.Fatalf("llama.cpp could not write and read back: %v\n%s", err, want)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := dumpOf(f); got != want {
		t.Errorf("llama.cpp read:\n%s\nwe read:\n%s", want, got)
	}
	for i, name := range []string{"a.weight", "b.weight", "c.weight"} {
		tn, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range tn.Data {
			if b != byte(j*13+i) {
				t.Fatalf("tensor %s byte %d = %d, llama.cpp wrote %d", name, j, b, byte(j*13+i))
			}
		}
	}
}

// oracleMissing skips, loudly, when llama.cpp's reader cannot run; with
// TETHER_REQUIRE_ORACLE=1 (as CI sets it) it fails instead.
func oracleMissing(t *testing.T, why string) {
	t.Helper()
	msg := "LLAMA.CPP GGUF ORACLE NOT RUN: " + why
	if os.Getenv("TETHER_REQUIRE_ORACLE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
