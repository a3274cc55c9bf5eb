// Package embedded is the [llm.Driver] that runs tether's pure-Go engine
// in process: no server, no port, nothing leaving the process (privacy
// tier sovereign, backend "embedded").
//
//	d, err := embedded.Open("qwen2.5-0.5b-instruct-q8_0.gguf", embedded.Options{})
//	...
//	defer d.Close()
//	resp, err := d.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
//
// [Open] loads a model and owns it; [New] wraps an [engine.Engine] that
// others share (tether serve runs every request of its HTTP server
// through one).
//
// # From request to tokens
//
// The conversation is rendered with the model's own chat template
// ([chat.Template]). Where the template renders tools itself (Qwen2.5,
// Qwen3, Llama 3.x, Jinja templates that print tools), tool definitions,
// calls and results go through it and the model's own call syntax is
// parsed: <tool_call> blocks ("hermes") or Llama 3's bare
// {"name", "parameters"} object ("llama3-json"). Otherwise the driver
// speaks the text protocol of package [toolcall]: the tools are described
// in the system prompt, history calls and results are rendered as
// <tool_call> and <tool_result> blocks, and calls are parsed from the
// text. The conversation's own text is tokenized with special-token
// parsing off ([engine.Engine.EncodePrompt]), so that a user message or a
// file read by a tool cannot forge a turn.
//
// # From tokens to events
//
// Generated text passes through a [think.Splitter] (reasoning deltas;
// started inside the block when the prompt ends in an open <think>) and
// then through the tool-call parser (text deltas and calls). Calls get
// ids unique for the driver's lifetime. The stream ends with EventDone:
// end_turn, or tool_use when calls were made, for an end-of-generation
// token; stop_sequence for a stop string; max_tokens for the token bound
// or a generation that fills the context window; with usage (prompt
// tokens, generated tokens) and the engine's timings. A prompt longer
// than the context window is an *llm.ContextOverflowError.
//
// # Beyond llm.Request
//
// [Call] adds what an OpenAI-compatible server needs: tool_choice
// (none leaves the tools out; required and a named function are honoured
// by starting the answer with the opening of a call, so the model can
// only complete it), enable_thinking for templates that read it, and
// frequency and presence penalties, log-probabilities, and a GBNF grammar.
//
// Constrained answers: a request's ResponseFormat (JSON mode, or a JSON
// Schema), a Call's Grammar, or a forced tool call makes the engine
// sample only tokens that keep the answer inside a grammar (package
// engine/grammar), so the answer parses whatever the model is: a forced
// call is the call syntax of the model's template with the name of one
// of the tools and arguments valid against its schema (strictly, for
// tools marked Strict). A constrained answer skips a reasoning block
// the prompt opened. A schema or grammar that cannot be enforced is an
// *llm.RequestError. [Driver.Prepare] renders and
// tokenizes a call without running it, so that a server can answer a bad
// request or an overflowing prompt with a status code before it commits
// to a streamed answer.
package embedded
