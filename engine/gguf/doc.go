// Package gguf reads and writes GGUF files, the model format of llama.cpp.
//
// [Open] memory-maps a file (on unix; elsewhere it reads it into memory),
// parses its header, typed metadata and tensor infos, and checks that
// every tensor lies inside the file, aligned and apart from the others.
// Tensor data stays in the file, quantised: [File.Tensor] returns a slice
// of the mapping, valid until [File.Close]. Parsing never panics and never
// allocates more than a small multiple of the file's size, whatever the
// bytes; problems are reported as a [*FormatError] naming the file, the
// offset and the problem, with sentinel errors to branch on.
//
// The mapping is shared with the file: if another process truncates the
// file while it is open, touching the lost pages kills the process with
// SIGBUS, as with any mmap. Model files are not edited in place.
//
// [Writer] writes GGUF v3 files laid out as llama.cpp expects them:
// tensors in order, each aligned (32 bytes unless set otherwise).
//
// The layout (all little endian): magic "GGUF", u32 version, u64 tensor
// count, u64 metadata count; the metadata (string key, u32 value type,
// value); the tensor infos (string name, u32 dimension count, u64 sizes
// with ne0 first, u32 ggml type, u64 offset into the data section); zero
// padding to the alignment; the data section. A string is a u64 length
// and its bytes; an array is a u32 element type, a u64 count and the
// elements.
package gguf
