package managed

import (
	"context"
	"errors"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestLaunchRefusesOptionsTheBackendIgnores(t *testing.T) {
	for name, o := range map[string]Options{
		"tensor parallel on llama-server": {Backend: "llama-server", TensorParallel: 2},
		"ray on auto":                     {Backend: "auto", RayAddress: "10.0.0.5:6379"},
		"gpu layers on vllm":              {Backend: "vllm", GPULayers: 10},
		"negative gpu layers":             {Backend: "llama-server", GPULayers: -1},
		"negative pipeline":               {Backend: "vllm", PipelineParallel: -1},
	} {
		o.Model = "does-not-matter.gguf"
		_, err := Launch(context.Background(), o)
		var ce *llm.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err %v, want a ConfigError", name, err)
		}
	}
}
