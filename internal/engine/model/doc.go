// Package model is the transformer forward pass of tether's engine, for
// the llama family as llama.cpp runs it: architectures llama (Llama 2 and
// 3.x, with Llama 3's rope_freqs, linear and YaRN rope scaling), qwen2
// (q/k/v biases) and qwen3 (per-head q/k RMS norms, a head size apart from
// n_embd/n_head); grouped-query attention; tied or untied output.
//
// Weights reach the model through two small interfaces, [Linear] (y = W·x
// for one or many rows) and [Embedding] (one dequantised row), so that the
// matrices can stay quantised in the memory-mapped file and the kernels
// can live elsewhere. [Load] binds a GGUF file's tensors by llama.cpp's
// names.
//
// Running a model takes a [Cache] per sequence (its keys and values, with
// a fixed capacity; evaluation past it is an [*llm.ContextOverflowError],
// never a silent truncation) and a [Workspace] per concurrent caller (all
// scratch memory, so that decoding allocates nothing). [Model.Eval]
// processes a prompt in batches of rows, one GEMM-shaped pass per batch
// with causal attention, or one token of decoding; [Model.EvalBatch]
// decodes several sequences in one pass.
//
// # Numerics
//
// The aim is llama.cpp's numbers on the same file, so the arithmetic
// follows ggml's CPU kernels where that is cheap to do:
//
//   - RMS norm sums squares in float64 and scales in float32, eps inside
//     the square root; the norm weight multiplies after the scale.
//   - RoPE angles are pos·θ^(-2i/n) built by repeated float32
//     multiplication, as ggml's rope cache builds them; normal (adjacent
//     pairs) for llama, neox (halves) for qwen2/qwen3.
//   - Attention is scaled by 1/sqrt(head_dim) and follows llama.cpp's
//     default CPU path, flash attention over an F16 KV cache: keys and
//     values rounded to F16 when cached; for decoding and passes under 64
//     rows, the query rounded to F16 and the weighted sum of values kept
//     in F16 through an online softmax; for longer passes, F32 throughout
//     (llama.cpp's tiled kernel). [KVF32] keeps everything in float32.
//   - SiLU is x/(1+e^-x) and softmax exponentials are float32 e^x within
//     an ulp of libm.
//
// What does not match bit for bit: summation order inside dot products
// (ggml's SIMD lanes and kernel variants), libm-versus-polynomial last-ulp
// differences, and llama.cpp's split of decode attention across threads
// once its KV view reaches 512 cells. Activation quantisation for
// quantised weights is the [Linear] implementation's job.
//
// Checked against llama.cpp itself (the build node-llama-cpp 3.21.1
// bundles, flash attention on, F16 cache) on tiny random Q8_0 llama
// files: top-8 log-probabilities agree within 3e-6 over 16 decode steps
// after a 20-token prompt, and within 1e-6 after a 221-token prompt read
// in one pass. Past about 130 cached positions single decode steps can
// differ by a few hundredths: the per-layer inputs still agree to 1e-7,
// but the longer F16 accumulation lets those last-ulp differences flip an
// F16 rounding (one F16 ulp in the attention output), which such tiny
// random models amplify. Treat long-context comparisons with a tolerance.
package model
