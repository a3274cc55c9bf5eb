// Package engine is tether's pure-Go inference engine: it loads a GGUF
// model once and serves any number of concurrent generations from it.
//
//	e, err := engine.Load("qwen2.5-0.5b-instruct-q8_0.gguf", engine.Options{Parallel: 2})
//	...
//	defer e.Close()
//	for tok, err := range e.Generate(ctx, engine.Request{Text: prompt, MaxTokens: 256}) {
//		if err != nil { ... }
//		fmt.Print(tok.Text)
//		if tok.Done { fmt.Println(tok.Summary.Reason, tok.Summary.Timings) }
//	}
//
// Load builds the tokenizer, the chat template ([chat]) and the model
// from the file's metadata; the weights stay quantised in its memory
// mapping. The tokenizers, the transformer and its kernels are internal
// packages; [Tokenizer], [ModelConfig], [KVType] and [Arch] name the
// types of theirs that this API carries.
//
// # Scheduling
//
// The engine has Options.Parallel slots, each with its own KV cache of
// Options.ContextLength tokens. Requests take a free slot in FIFO order
// and otherwise wait. One goroutine runs the model: each round it decodes
// one token for every slot that is generating, in a single batched pass
// (the weights are read once for all of them), then evaluates one prompt
// chunk (Options.Batch tokens) for the slot that has waited longest. A
// slot keeps its tokens after a request ends; a later request whose
// prompt begins the same way reuses that part of the cache (as
// llama-server's prompt cache does), unless Request.NoPromptCache.
//
// Batching never changes a sequence's numbers: every row of a pass is
// computed as it would be alone, and prompt chunks do not depend on the
// traffic. Reusing a cached prompt beginning can change the last digits
// of a prompt longer than 64 tokens, because llama.cpp's attention (and
// so ours) computes long passes in float32 and short ones through its F16
// kernel.
//
// # Ends
//
// A generation ends normally on an end-of-generation token, a stop
// string, MaxTokens, or when its tokens fill the context window (the
// final item's Summary.Reason), and with an error when its context is
// cancelled or when the prompt does not fit the context window
// (*llm.ContextOverflowError: a prompt is never silently truncated).
//
// A slot reading a prompt takes the longest beginning of it that any
// other slot holds, busy or not, by copying that slot's cache: requests
// that share a system prompt, or the choices of one request, evaluate
// the shared part once.
package engine
