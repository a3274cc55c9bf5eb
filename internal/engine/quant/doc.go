// Package quant holds ggml's tensor types and their kernels: block
// layouts, dequantisation, the reference quantisers that llama.cpp uses to
// write model files, and the dot products of a weight row with an
// activation row, computed the way llama.cpp's CPU backend computes them.
//
// llama.cpp never multiplies quantised weights with float activations. It
// first converts the activation row to the weight type's "vec-dot type"
// (Q8_0 for Q4_0, Q5_0 and Q8_0; Q8_1 for Q4_1 and Q5_1; Q8_K for the
// K-quants; F16 for F16; BF16 for BF16; F32 for F32) and then runs an
// integer (or half-precision) dot product. [Vector] is such a converted
// activation row, and [Matrix] with a [Pool] runs the matrix-vector and
// matrix-matrix products of a forward pass on that path. [DotFloat] is the
// plain dequantise-then-multiply path, kept as a reference.
//
// Every kernel is reached through one table entry per type, so faster
// implementations (SIMD assembly behind CPU feature checks) can replace the
// scalar Go ones without touching callers.
package quant

//go:generate go run ./internal/genkernels
