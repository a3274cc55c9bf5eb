// Package tokenizer implements the tokenizers GGUF models carry in their
// tokenizer.ggml.* metadata, producing the same token ids as llama.cpp
// (the version node-llama-cpp 3.21.1 bundles) for the same file and text.
//
// Two models are supported:
//
//   - "gpt2": byte-level BPE. Text is cut into words by the pre-tokenizer
//     that tokenizer.ggml.pre names (default, llama3/llama-bpe, qwen2,
//     qwen35, gpt-2, starcoder, falcon, deepseek-coder and their aliases),
//     each word's bytes are mapped through GPT-2's byte-to-unicode table,
//     and merges are applied by rank.
//   - "llama": SentencePiece BPE by token score, with spaces written as
//     U+2581, a leading space before text that opens the input or follows a
//     special token, and <0xXX> byte fallback.
//
// Special tokens are matched in the text before either model runs:
// user-defined tokens always, control and unknown tokens only when the
// caller asks (parseSpecial), longest first. End-of-generation tokens are
// derived the way llama.cpp derives them, from the metadata ids and from
// well-known token texts such as <|im_end|> and <|eot_id|>.
//
// The package depends on nothing else in the engine: the model loader fills
// a Vocab from GGUF metadata and calls New.
package tokenizer
