// Package synth writes synthetic GGUF models: random weights of a chosen
// architecture (llama, qwen2, qwen3), tensor type and shape, with a real
// byte-level BPE vocabulary and chat template, that llama.cpp and
// tether's engine both load. Tests compare the two engines on them, and
// benchmarks time them: a random model of a real model's shape runs
// exactly as fast as the real one.
//
//	shape, _ := synth.NamedShape("tiny", synth.ArchQwen3)
//	m, err := synth.Write(ctx, "tiny.gguf", synth.Options{Shape: shape, Type: gguf.Q4_K, Seed: 1})
//
// Everything is deterministic: the same options give the same bytes.
//
// # Shapes
//
// [Tiny] is for tests: n_embd 256, 2 layers, 4 heads, 2 KV heads, head
// size 64 (128 for qwen3, so that its query width differs from n_embd as
// in the real Qwen3), n_ff 512 — every width a multiple of 256, so every
// K-quant fits. [NamedShape] also knows qwen2.5-0.5b, qwen3-0.6b and
// llama-3.2-1b, with the published sizes, vocabulary size, rope base,
// context length and tied embeddings (and Llama 3.2's rope_freqs). Where
// a K-quant's 256-element block does not divide a row (Qwen2.5-0.5B's
// 896), the matrix falls back as llama-quantize does: Q4_K to Q5_0, Q5_K
// to Q5_1, Q6_K to Q8_0 ([WeightType]).
//
// # Weights
//
// Every row of every tensor has its own random stream (seeded by the
// seed, the tensor's name and the row), so rows are drawn in parallel and
// the output does not depend on the number of threads. Matrices are
// N(0, 1/sqrt(fan_in)), norms 1+N(0, 0.1), qwen2 biases N(0, 0.2),
// embeddings N(0, 1) and the output N(0, 4/sqrt(n_embd)) (logits spread
// about ±4); a tied embedding is N(0, 4/sqrt(n_embd)), for the same
// logits. All 2-D matrices take the requested type, token_embd and output
// included; 1-D tensors stay F32.
//
// Greedy text is printable: the output rows of every token that is not
// printable ASCII (bytes 0-31 but tab and newline, 127-255, special
// tokens, [PADn] fillers, and the tool call's token outside tool-call
// mode) are zero, except the end-of-turn token's. With
// a tied output those rows are token_embd's, which inputs need, so they
// are scaled down by 8 instead (RMS norm undoes the scale on input).
//
// # Vocabulary
//
// [NewVocab]: the 256 bytes in GPT-2's byte-to-unicode alphabet (id =
// byte value), the merges learnt from a built-in English and code corpus
// (each adds its token), one normal token holding the tool call's JSON
// (no merge reaches it), unused [PADn] fillers up to a real shape's size,
// and the template family's specials: for Qwen, <|endoftext|>,
// <|im_start|>, <|im_end|> as control tokens and <tool_call>,
// </tool_call>, <tool_response>, </tool_response>, <think>, </think> as
// user-defined ones, pre-tokenizer qwen2, no BOS added; for Llama 3,
// its 256 control tokens (<|begin_of_text|> ... <|eot_id|> ...), the
// llama-bpe pre-tokenizer and BOS added. tokenizer.chat_template is the
// official Qwen2.5, Qwen3 or Llama 3.2 template.
//
// # Tool-call mode
//
// [Options.ToolCall] plants a bigram chain in the output rows: after any
// whitespace token ending in a newline (the last token of every
// generation prompt) comes <tool_call>, then the JSON token, then
// </tool_call>, then <|im_end|> (for Llama 3: the JSON
// {"name": ..., "parameters": ...} and <|eot_id|>). Each planted row is
// 5 times the unit embedding of the token before it, and attn_output and
// ffn_down are damped by 0.1·sqrt(2/layers), so the hidden state stays
// near the last token's embedding and the planted token wins by a
// logit margin of about 5·sqrt(n_embd) − 12 in every architecture.
package synth
