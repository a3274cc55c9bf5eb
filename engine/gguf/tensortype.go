package gguf

import (
	"fmt"

	"github.com/tetherllm/tether/internal/engine/quant"
)

// TensorType is a tensor's element type, by the ggml numbering GGUF files
// store: a float type or a block-quantised one. Its String is llama.cpp's
// name for it ("q4_K"); Supported reports whether tether's engine runs it.
type TensorType = quant.Type

// The tensor types tether's engine runs. A file may hold others (the IQ
// types, for instance): they read as tensors, and the engine refuses them.
const (
	F32  TensorType = quant.F32
	F16  TensorType = quant.F16
	BF16 TensorType = quant.BF16
	Q4_0 TensorType = quant.Q4_0
	Q4_1 TensorType = quant.Q4_1
	Q5_0 TensorType = quant.Q5_0
	Q5_1 TensorType = quant.Q5_1
	Q8_0 TensorType = quant.Q8_0
	Q2_K TensorType = quant.Q2_K
	Q3_K TensorType = quant.Q3_K
	Q4_K TensorType = quant.Q4_K
	Q5_K TensorType = quant.Q5_K
	Q6_K TensorType = quant.Q6_K
)

// ParseTensorType returns the type named name, as llama.cpp writes it,
// in any case ("q4_K", "Q8_0", "bf16"). An unknown name is an error that
// wraps [ErrTensorType].
func ParseTensorType(name string) (TensorType, error) {
	t, err := quant.ParseType(name)
	if err != nil {
		return 0, fmt.Errorf("gguf: %w %q", ErrTensorType, name)
	}
	return t, nil
}
