package supervisor

import (
	"strings"

	"github.com/tetherllm/tether/llm"
)

// exitPatterns maps phrases in a dying server's output to causes. A server
// that runs out of memory usually also reports that the model failed to load,
// and servers log harmless warnings about optional libraries at start-up, so
// the causes are tried in this order and the first that matches anywhere in
// the output wins. Phrases are
// lower case; matching ignores case. Sources: llama.cpp (server, ggml CUDA,
// HIP, Vulkan and Metal back ends), vLLM and PyTorch, ollama, apr, the
// dynamic linkers of Linux and macOS, and Go's and Python's socket errors.
var exitPatterns = []struct {
	cause   llm.ExitCause
	phrases []string
}{
	{llm.CauseOutOfMemory, []string{
		"out of memory", // cudaMalloc failed: out of memory; CUDA out of memory; CUDA error: out of memory
		"outofmemoryerror",
		"cudamalloc failed",
		"hipmalloc failed",
		"out_of_device_memory", // vk::Result::eErrorOutOfDeviceMemory, VK_ERROR_OUT_OF_DEVICE_MEMORY
		"outofdevicememory",
		"out_of_host_memory",
		"failed to allocate cuda",
		"unable to allocate cuda",
		"failed to allocate buffer",
		"failed to allocate vulkan",
		"failed to allocate metal",
		"unable to allocate backend buffer",
		"insufficient memory",
		"not enough memory",
		"requires more system memory",
		"more gpu memory than is available",
		"cannot allocate memory", // ENOMEM from mmap, fork, malloc
		"std::bad_alloc",
		"no available memory for the cache blocks", // vLLM
		"memory allocation failed",
		"kv cache is too large",
	}},
	{llm.CausePortInUse, []string{
		"address already in use",
		"eaddrinuse",
		"errno 98", // Python's EADDRINUSE on Linux
		"errno 48", // and on macOS
		"couldn't bind http server socket",
		"could not bind",
		"failed to bind",
		"only one usage of each socket address", // Windows WSAEADDRINUSE
	}},
	{llm.CauseMissingLibrary, []string{
		"error while loading shared libraries",
		"cannot open shared object file",
		"library not loaded", // macOS dyld
		"symbol lookup error",
		"undefined symbol:",
		"version `glibc_",
		"version `glibcxx_",
		"could not load library",
		"failed to load library",
		"failed to load dynamic library",
		"unable to load library",
		"modulenotfounderror",
		"no module named",
		"importerror:",
		"cuda driver version is insufficient",
		"nvidia driver on your system is too old",
	}},
	{llm.CauseBadModel, []string{
		"bad model file",
		"invalid model file",
		"invalid magic",
		"bad magic",
		"failed to read magic",
		"not a gguf file",
		"invalid gguf",
		"invalid apr",
		"gguf_init_from_file",
		"unknown model architecture",
		"unsupported model architecture",
		"unknown architecture",
		"model architecture not supported",
		"unsupported model",
		"invalid model",
		"error loading model",
		"failed to load model",
		"unable to load model",
		"could not load model",
		"wrong number of tensors",
		"tensor data is not within the file bounds",
		"is not within the file bounds",
		"missing tensor",
		"wrong shape",
		"unknown quantization",
		"unsupported quantization",
		"corrupted model",
		"model is corrupt",
		"file is corrupt",
		"may be corrupt",
		"unexpected end of file",
		"safetensorerror",
		"error while deserializing header",
		"does not appear to have a file named",
		"unrecognized model",
		"is not a valid model identifier",
		"is not a local folder",
		"model file not found",
		"no such model",
		"not supported by your version of ollama",
	}},
}

// Classify reads a server's output and says why it died, or
// [llm.CauseUnknown].
func Classify(output string) llm.ExitCause {
	cause, _ := classify(output)
	return cause
}

// classify also returns the last line that decided the cause.
func classify(output string) (llm.ExitCause, string) {
	lower := asciiLower(output)
	for _, p := range exitPatterns {
		end := len(lower)
		for end > 0 {
			start := strings.LastIndexByte(lower[:end], '\n') + 1
			line := lower[start:end]
			for _, phrase := range p.phrases {
				if strings.Contains(line, phrase) {
					return p.cause, strings.TrimSpace(output[start:end])
				}
			}
			end = start - 1
		}
	}
	return llm.CauseUnknown, ""
}

// asciiLower lower-cases ASCII letters only, so that byte offsets in the
// result are offsets in s (strings.ToLower may change lengths).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
