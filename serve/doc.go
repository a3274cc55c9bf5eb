// Package serve is tether serve: an OpenAI-compatible HTTP server over
// tether's pure-Go engine, shaped like llama-server so that clients and
// supervisors written for it work unchanged.
//
//	srv, err := serve.New(serve.Config{Model: "model.gguf", APIKey: key})
//	ln, err := serve.Listen("127.0.0.1", 0) // or a path ending in ".sock"
//	go srv.Serve(ctx, ln)                   // answers /health 503 at once
//	err = srv.Load()                        // then 200
//	...                                     // ctx ends: graceful shutdown
//	srv.Close()
//
// # Endpoints
//
//	POST /v1/chat/completions  (also /chat/completions)  chat, streamed or not
//	POST /v1/completions       (also /completions)       raw prompt, no template
//	POST /v1/messages                                    Anthropic's Messages API
//	POST /v1/messages/count_tokens                       the prompt's length in tokens
//	GET  /v1/models            (also /models)            one model; public
//	GET  /health               (also /v1/health)         503 loading, 200 ready; public
//	GET  /props                                          n_ctx, slots, chat template, build
//	POST /tokenize, /detokenize                          llama-server's shapes
//	GET  /metrics                                        Prometheus text
//
// With an API key, every endpoint but /health and /v1/models (the public
// ones of llama-server) needs "Authorization: Bearer KEY" or "X-Api-Key:
// KEY"; /props refuses requests without it, which is how a supervisor
// proves the server on a port is the one it launched. Keys are compared
// in constant time.
//
// # Chat completions
//
// OpenAI's request and answer shapes, with llama.cpp's additions:
// reasoning in reasoning_content (thinking models' <think> blocks, or
// everything before a bare </think> when the template opened the block),
// a "timings" object, top_k, min_p, repeat_penalty, repeat_last_n,
// ignore_eos, n_predict, chat_template_kwargs.enable_thinking, and
// logit_bias as an object or llama.cpp's [[id, bias]] pairs. Streams are
// server-sent events: a first chunk with the role, content,
// reasoning_content and tool_calls deltas, a last chunk with
// finish_reason (stop, length, tool_calls) and timings, a usage chunk
// when stream_options.include_usage is set, and [DONE]. While a streamed
// request waits for a slot or its prompt is read, ": ping" comments keep
// proxies from dropping the connection. Unsupported features are refused
// with 400, never silently ignored: n > 1, logprobs, non-text
// response_format, image or audio content.
//
// Tools: definitions go to the chat template when it renders tools
// (Qwen2.5, Qwen3, Llama 3.x, Jinja templates that print them), else they
// are described in the system prompt in tether's text protocol. Calls are
// parsed from the model's text (<tool_call> blocks, or Llama 3's bare
// JSON) and returned as native tool_calls, streamed as deltas by index:
// the first delta of a call has its id, type and name, the second its
// complete arguments. Call ids are unique for the server's lifetime.
// tool_choice: "auto" (the default) lets the model choose; "none" leaves
// the tools out of the prompt and parses nothing; "required" starts the
// answer with the call opener (<tool_call>, or {"name": " for Llama 3);
// {"type": "function", "function": {"name": N}} starts it with a call of
// N, its arguments left to the model. Without constrained decoding, a
// forced call is as well-formed as the model makes it; a malformed one
// comes back as text with finish_reason "stop" or "length".
//
// Context: a prompt longer than the context window, or an answer that
// would run past it, is a 400 with type exceed_context_size_error, code
// context_length_exceeded and llama.cpp's n_prompt_tokens and n_ctx (in
// a stream already started, the same error object as an event). Nothing
// is truncated.
//
// # Messages API
//
// POST /v1/messages speaks Anthropic's Messages API on the pipeline of
// chat completions, so that agents built on Anthropic's SDKs run on a
// local model. Requests: model, max_tokens (required), system (a string
// or text blocks), messages with user and assistant roles whose content
// is a string or text, tool_use, tool_result (content a string or text
// blocks; is_error) and thinking blocks, tools (name, description,
// input_schema), tool_choice (auto, any, tool with its name, none;
// disable_parallel_tool_use keeps the first call only), thinking
// ({"type":"enabled","budget_tokens":N} or disabled), stop_sequences,
// temperature, top_p, top_k, stream. metadata and cache_control are
// accepted and have no effect (the engine reuses a cached prompt prefix
// by itself). Text blocks of one message join with a blank line.
// Everything else is refused with a 400 that names the field by its JSON
// path: image and document blocks, redacted_thinking, server tools,
// citations, service_tier and other fields, and a final assistant
// message (Anthropic continues it; tether does not prefill).
//
// Thinking maps to the chat template's enable_thinking: on when enabled,
// off when disabled or not asked for, as Anthropic's models think only
// when asked. budget_tokens must be at least 1 and below max_tokens; it
// is not enforced apart from max_tokens, which bounds thinking and
// answer together. A model whose template ignores enable_thinking thinks
// as it always does. Reasoning comes back as thinking blocks, first;
// their signature is "sha256:" and the hex SHA-256 digest of the
// thinking text (anthropic.Signature) — a plain digest, not Anthropic's
// encrypted proof — and is not checked when the block is sent back,
// where the thinking becomes the assistant message's reasoning.
//
// Answers: a msg_ id, content blocks in the order the model wrote them
// (thinking, text, tool_use with toolu_ ids), stop_reason end_turn,
// max_tokens, stop_sequence, tool_use, or model_context_window_exceeded
// for an answer that ran into the end of the context (what it wrote is
// kept, streamed or not), stop_sequence (the matched
// sequence when the request has one; null with several, as the engine
// does not say which matched), usage with input_tokens (the whole
// prompt; cache_read_input_tokens and cache_creation_input_tokens are
// 0) and output_tokens. Streams are Anthropic's events: message_start,
// ping, then per block content_block_start, content_block_delta
// (text_delta, thinking_delta then signature_delta, input_json_delta
// with a tool's whole input) and content_block_stop, then message_delta
// with stop_reason and usage, and message_stop; ": ping" comments while
// a request waits. POST /v1/messages/count_tokens takes the fields that
// shape the prompt (model, system, messages, tools, tool_choice,
// thinking) and answers {"input_tokens": N}, a prompt longer than the
// context included.
//
// Errors on these endpoints are Anthropic's: {"type":"error","error":
// {"type":…,"message":…}} with invalid_request_error (400; a prompt
// longer than the context is "prompt is too long: N tokens > M
// maximum"), authentication_error (401; the key as x-api-key or a
// bearer token), not_found_error (404, an unknown model, as chat
// completions answer it), request_too_large (413), overloaded_error
// (529 with Retry-After when the queue is full; 503 while the model
// loads or the server shuts down) and api_error (500); in a stream
// already started, an error event. anthropic-version is accepted
// whatever its value. A wrong method is answered by the shared router,
// in OpenAI's shape.
//
// # Serving under load
//
// The engine has Config.Engine.Parallel slots and a FIFO queue. The
// server admits at most Parallel + Config.MaxQueue generation requests;
// more are answered at once with 429 and Retry-After. A client that
// disconnects cancels its generation at once (it is counted in
// tether_generations_cancelled_total and as status 499). A panic in a
// handler is answered 500 and logged; the server goes on.
//
// Logs (log/slog) name the endpoint, status, token counts and duration
// of each request, never its content.
//
// Shutdown: when Serve's context ends, the listener closes, requests in
// flight run on for up to Config.ShutdownGrace, then the rest are
// cancelled (a stream gets a "shutting down" error event) and Serve
// returns.
package serve
