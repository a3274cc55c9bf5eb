package gguf_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"math"

	"github.com/tetherllm/tether/engine/gguf"
)

// A GGUF file written with Writer and read back: metadata by key, typed,
// and tensors by name, their data still in the file's bytes.
func Example() {
	w := gguf.NewWriter()
	w.Set(gguf.KeyArchitecture, "llama")
	w.Set("general.name", "Example")
	w.Set("llama.context_length", uint32(4096))
	data := make([]byte, 4*4) // a 2×2 f32 matrix
	for i, v := range []float32{1, 2, 3, 4} {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	if err := w.AddTensor("weights", gguf.F32, []uint64{2, 2}, data); err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	arch, _ := f.Architecture()
	name, _ := gguf.Get[string](f, "general.name")
	ctx, _ := gguf.ArchGet[uint32](f, "context_length")
	fmt.Println(arch, name, ctx)
	for _, t := range f.Tensors() {
		values, _ := f.Floats(t.Name)
		fmt.Println(t.Name, t.Type, t.Shape, values)
	}
	// Output:
	// llama Example 4096
	// weights f32 [2 2] [1 2 3 4]
}

// ParseTensorType reads the type names llama.cpp prints.
func ExampleParseTensorType() {
	for _, name := range []string{"Q4_K", "q8_0", "bf16", "iq2_xs", "q9"} {
		t, err := gguf.ParseTensorType(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(t, t.Supported())
	}
	// Output:
	// q4_K true
	// q8_0 true
	// bf16 true
	// iq2_xs false
	// gguf: unknown tensor type "q9"
}
