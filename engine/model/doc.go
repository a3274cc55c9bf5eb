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
// (ggml's SIMD lanes), libm-versus-polynomial last-ulp differences, and
// llama.cpp's multi-threaded split of long decode attention. Activation
// quantisation for quantised weights is the [Linear] implementation's job.
package model
