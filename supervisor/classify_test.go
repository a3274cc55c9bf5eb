package supervisor

import (
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// A corpus of lines real servers print when they die, and some they print
// while healthy.
var classifyCorpus = []struct {
	name string
	out  string
	want llm.ExitCause
}{
	// Out of memory.
	{"llama.cpp cudaMalloc", "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 8192.00 MiB on device 0: cudaMalloc failed: out of memory", llm.CauseOutOfMemory},
	{"llama.cpp CUDA buffer", "alloc_tensor_range: failed to allocate CUDA0 buffer of size 8589934592", llm.CauseOutOfMemory},
	{"llama.cpp OOM then load failure", "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 8192.00 MiB on device 0: cudaMalloc failed: out of memory\nllama_model_load: error loading model: unable to allocate CUDA0 buffer\nllama_load_model_from_file: failed to load model\nsrv    load_model: failed to load model, '/models/big.gguf'\nmain: exiting due to model loading error", llm.CauseOutOfMemory},
	{"llama.cpp KV cache", "llama_kv_cache_init: failed to allocate buffer for kv cache\nllama_init_from_model: llama_kv_cache_init() failed for self-attention cache", llm.CauseOutOfMemory},
	{"ggml CUDA error", "CUDA error: out of memory\n  current device: 0, in function ggml_backend_cuda_buffer_type_alloc_buffer", llm.CauseOutOfMemory},
	{"HIP", "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 4096.00 MiB on device 0: hipMalloc failed: out of memory", llm.CauseOutOfMemory},
	{"Vulkan", "ggml_vulkan: Device memory allocation of size 4294967296 failed.\nggml_vulkan: vk::Device::allocateMemory: ErrorOutOfDeviceMemory", llm.CauseOutOfMemory},
	{"Metal", "ggml_metal_buffer_init: error: failed to allocate buffer, size = 16384.00 MiB", llm.CauseOutOfMemory},
	{"mmap ENOMEM", "llama_model_load: error loading model: mmap failed: Cannot allocate memory", llm.CauseOutOfMemory},
	{"C++ bad_alloc", "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc", llm.CauseOutOfMemory},
	{"torch", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.12 GiB is free.", llm.CauseOutOfMemory},
	{"older torch", "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB", llm.CauseOutOfMemory},
	{"vLLM KV blocks", "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.", llm.CauseOutOfMemory},
	{"ollama system memory", "Error: model requires more system memory (35.2 GiB) than is available (14.1 GiB)", llm.CauseOutOfMemory},
	{"ollama insufficient", "llama runner process has terminated: error:insufficient memory", llm.CauseOutOfMemory},
	{"apr", "Error: CUDA allocation failed: out of memory (requested 6.0 GiB)", llm.CauseOutOfMemory},

	// Missing libraries.
	{"ld.so libcuda", "/usr/local/bin/llama-server: error while loading shared libraries: libcuda.so.1: cannot open shared object file: No such file or directory", llm.CauseMissingLibrary},
	{"ld.so libllama", "llama-server: error while loading shared libraries: libllama.so: cannot open shared object file: No such file or directory", llm.CauseMissingLibrary},
	{"glibc too old", "./llama-server: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by ./llama-server)", llm.CauseMissingLibrary},
	{"undefined symbol", "llama-server: symbol lookup error: /usr/lib/libggml-cuda.so: undefined symbol: cublasGemmBatchedEx_v2", llm.CauseMissingLibrary},
	{"macOS dyld", "dyld[4242]: Library not loaded: @rpath/libggml.dylib\n  Referenced from: <UUID> /opt/llama/bin/llama-server\n  Reason: tried: '/opt/llama/lib/libggml.dylib' (no such file)", llm.CauseMissingLibrary},
	{"vLLM import", "ImportError: libcudart.so.12: cannot open shared object file: No such file or directory", llm.CauseMissingLibrary},
	{"python module", "ModuleNotFoundError: No module named 'vllm'", llm.CauseMissingLibrary},
	{"cudnn", "Could not load library libcudnn_cnn_infer.so.8. Error: libcudnn_cnn_infer.so.8: cannot open shared object file", llm.CauseMissingLibrary},
	{"driver too old", "RuntimeError: The NVIDIA driver on your system is too old (found version 11040).", llm.CauseMissingLibrary},
	{"cuda driver insufficient", "CUDA error: CUDA driver version is insufficient for CUDA runtime version", llm.CauseMissingLibrary},

	// Port in use.
	{"Go listener", "listen tcp 127.0.0.1:8080: bind: address already in use", llm.CausePortInUse},
	{"llama.cpp bind", "main: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080", llm.CausePortInUse},
	{"ollama", "Error: listen tcp 127.0.0.1:11434: bind: address already in use", llm.CausePortInUse},
	{"uvicorn", "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use", llm.CausePortInUse},
	{"macOS python", "OSError: [Errno 48] Address already in use", llm.CausePortInUse},
	{"Windows", "bind: Only one usage of each socket address (protocol/network address/port) is normally permitted.", llm.CausePortInUse},
	{"Rust apr", "Error: Os { code: 98, kind: AddrInUse, message: \"Address already in use\" }", llm.CausePortInUse},
	{"port in use after an optional-library warning", "WARNING: Failed to import from vllm._C with ModuleNotFoundError(\"No module named 'vllm._C'\")\nOSError: [Errno 98] Address already in use", llm.CausePortInUse},

	// Bad model files.
	{"invalid magic", "gguf_init_from_file_impl: invalid magic characters: 'PK\\x03\\x04', expected 'GGUF'\nllama_model_load: error loading model: llama_model_loader: failed to load model from /m/x.gguf", llm.CauseBadModel},
	{"missing file", "gguf_init_from_file: failed to open GGUF file '/m/missing.gguf' (No such file or directory)\nllama_model_load_from_file_impl: failed to load model", llm.CauseBadModel},
	{"unknown arch", "llama_model_load: error loading model: error loading model architecture: unknown model architecture: 'mamba9'", llm.CauseBadModel},
	{"truncated", "llama_model_load: error loading model: tensor 'blk.31.ffn_down.weight' data is not within the file bounds, model is corrupted or incomplete", llm.CauseBadModel},
	{"custom server", "bad model file", llm.CauseBadModel},
	{"wrong tensor count", "llama_model_load: error loading model: done_getting_tensors: wrong number of tensors; expected 292, got 291", llm.CauseBadModel},
	{"ollama unsupported", "Error: llama runner process has terminated: this model is not supported by your version of Ollama. You may need to upgrade", llm.CauseBadModel},
	{"vLLM config", "OSError: /models/x does not appear to have a file named config.json. Checkout 'https://huggingface.co//models/x/tree/None' for available files.", llm.CauseBadModel},
	{"safetensors", "safetensors_rust.SafetensorError: Error while deserializing header: HeaderTooLarge", llm.CauseBadModel},
	{"apr header", "Error: invalid APR header: bad magic bytes", llm.CauseBadModel},
	{"apr gguf", "Error: Failed to load model: Invalid GGUF magic number", llm.CauseBadModel},

	// Nothing to go on.
	{"segfault", "srv  update_slots: all slots are idle\nSegmentation fault (core dumped)", llm.CauseUnknown},
	{"assert", "GGML_ASSERT(n_tokens_all <= cparams.n_batch) failed", llm.CauseUnknown},
	{"healthy startup log", "build: 6140 (a1b2c3d4) with cc (GCC) 13.2.0\nsystem_info: n_threads = 8\nllama_model_loader: loaded meta data with 33 key-value pairs\nload_tensors: offloaded 29/29 layers to GPU\nsrv    load_model: loading model '/m/x.gguf'\nmain: model loaded\nmain: server is listening on http://127.0.0.1:8080", llm.CauseUnknown},
	{"heap corruption is not a bad model", "malloc(): corrupted top size\nAborted (core dumped)", llm.CauseUnknown},
	{"empty", "", llm.CauseUnknown},
}

func TestClassifyCorpus(t *testing.T) {
	for _, tt := range classifyCorpus {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.out); got != tt.want {
				t.Fatalf("Classify = %v, want %v\noutput:\n%s", got, tt.want, tt.out)
			}
		})
	}
}

func TestClassifyIgnoresCaseAndKeepsDecisiveLine(t *testing.T) {
	out := "noise\nCUDAMALLOC FAILED: OUT OF MEMORY\nmore noise"
	cause, line := classify(out)
	if cause != llm.CauseOutOfMemory || line != "CUDAMALLOC FAILED: OUT OF MEMORY" {
		t.Fatalf("classify = %v, %q", cause, line)
	}
}

func TestErrorTailKeepsDecisiveLine(t *testing.T) {
	var b strings.Builder
	b.WriteString("cudaMalloc failed: out of memory\n")
	for range 50 {
		b.WriteString("llama_model_load: cleanup\n")
	}
	full := b.String()
	_, line := classify(full)
	tail := errorTail(full, line)
	if !strings.HasPrefix(tail, "cudaMalloc failed: out of memory\n…\n") {
		t.Fatalf("tail does not lead with the decisive line:\n%s", tail)
	}
	if n := strings.Count(tail, "cleanup"); n != errorTailLines {
		t.Fatalf("tail has %d trailing lines, want %d", n, errorTailLines)
	}
}

func FuzzClassify(f *testing.F) {
	for _, c := range classifyCorpus {
		f.Add(c.out)
	}
	f.Add("\xff\xfe İstanbul out of memory")
	f.Fuzz(func(t *testing.T, out string) {
		cause, line := classify(out)
		if cause == llm.CauseUnknown {
			if line != "" {
				t.Fatalf("unknown cause with decisive line %q", line)
			}
			return
		}
		if !strings.Contains(out, line) {
			t.Fatalf("decisive line %q is not in the output", line)
		}
		if again, _ := classify(line); again != cause {
			t.Fatalf("the decisive line alone classifies as %v, not %v", again, cause)
		}
	})
}
