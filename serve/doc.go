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
//	GET  /v1/models/{id}       (also /models/{id})       that model; public
//	GET  /health               (also /v1/health)         503 loading, 200 ready; public
//	GET  /props                                          n_ctx, slots, chat template, build
//	POST /tokenize, /detokenize                          llama-server's shapes
//	GET  /metrics                                        Prometheus text
//
// With an API key, every endpoint but /health and /v1/models[/{id}] (the public
// ones of llama-server) needs "Authorization: Bearer KEY" or "X-Api-Key:
// KEY"; /props refuses requests without it, which is how a supervisor
// proves the server on a port is the one it launched. Keys are compared
// in constant time.
//
// # Browsers
//
// CORS is off by default: a local server open to every web page would let
// any site its user visits spend the model. Config.CORSOrigins (tether
// serve --cors-origin, repeatable, "*" for any origin) turns it on. A
// preflight (OPTIONS with Origin and Access-Control-Request-Method) from
// an allowed origin is answered 204 with Access-Control-Allow-Methods,
// Access-Control-Allow-Headers (Authorization, Content-Type, X-Api-Key,
// anthropic-version, and whatever else the preflight asks for, such as
// the SDKs' x-stainless-* headers) and Access-Control-Max-Age, without
// needing the API key; every answer to an allowed origin, errors and
// streams included, carries Access-Control-Allow-Origin with that
// origin and Vary: Origin. A preflight from another origin is a 403
// with no CORS headers; its other requests are answered without them,
// so the browser keeps the answer from the page. With CORS off, a
// preflight is a 405 that says so.
//
// A server bound to a loopback address answers only requests whose Host
// header is a loopback name or address (localhost, *.localhost,
// 127.0.0.0/8, ::1, any port) or one of Config.AllowedHosts (tether
// serve --allowed-host, and --host itself); others get 403
// host_not_allowed. That stops DNS rebinding, where a page re-points its
// own name at 127.0.0.1 to reach the server as a same-origin request,
// which CORS does not stop. A server bound to another address is meant
// to be reached by name and is not checked; a unix socket is out of a
// browser's reach.
//
// # Model names
//
// One model is served. A request may name it by any name, as with
// llama-server, so that clients and scripts with a hard-coded name
// ("gpt-4o-mini") work; Config.StrictModel (tether serve --strict-model)
// accepts only its id (Config.Alias, else the file name without its
// extension), file name or path, and answers other names 404
// model_not_found. Every answer's "model" field is the served model's
// id, whatever the request said: as OpenAI answers with the model that
// resolved the name ("gpt-4o" → a dated snapshot), the field says which
// model wrote the answer. GET /v1/models/{id} follows the same rule: any
// id (slashes allowed) answers the served model under its own id, and
// under StrictModel an id that is not one of its names is a 404.
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
// proxies from dropping the connection.
//
// logprobs and top_logprobs (up to 20) give each generated token's
// log-probability under the model's distribution (before penalties and
// temperature, after a grammar's mask), with its bytes, in OpenAI's
// logprobs.content; streamed, each chunk carries those of the tokens
// since the previous chunk. Text completions take the legacy logprobs: N
// and answer with tokens, token_logprobs, top_logprobs and text_offset.
// n (up to 16) asks for n choices of the one prompt: the prompt is
// evaluated once and counted once in usage, choice i samples with seed+i
// when a seed is given, and streamed chunks carry their choice's index.
//
// Structured output: response_format {"type": "json_object"} or
// {"type": "json_schema", "json_schema": {"schema": …, "strict": …}},
// llama.cpp's json_schema (a schema alone) and grammar (GBNF), in chat
// and text completions, make the engine sample only tokens that keep the
// answer inside the grammar, so it always parses and fits the schema
// (see package engine/grammar for the JSON Schema subset; a schema or
// grammar it cannot enforce is a 400 naming what). A forced call —
// tool_choice "required" or a named function — is constrained to the
// template's call syntax with arguments valid against the tool's schema,
// strictly (every declared property, no other) for tools with
// "strict": true.
//
// Request fields: every field of a chat or text completion request, of
// its messages, tools, stream_options and chat_template_kwargs, is
// listed in serve/fields.go as supported (honoured), ignored (accepted
// because ignoring it cannot change the answer: user, store, metadata,
// service_tier, prompt_cache_key, cache_prompt, …, each with its reason)
// or refused. A refused field is a 400 with code unsupported_parameter
// and param naming it, unless its value asks for nothing tether lacks (a
// disabled llama.cpp sampler): functions, function_call, llama.cpp's
// other samplers, image or audio content. A field in no list is a 400
// with code unknown_parameter naming it. Nothing is silently ignored.
// parallel_tool_calls false keeps the model's first call only, as
// llama-server does; up to 16 stop strings are honoured.
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
// N; either way its arguments are constrained to the tool's schema (see
// Structured output), so a forced call always parses.
//
// Errors are OpenAI's object, {"error":{"message", "type", "param",
// "code"}}, on every endpoint and inside streams, and code is always a
// string ("invalid_value", "model_loading"; llama-server sends the status
// as a number there). A whole answer's message has "content": null, not
// "" and not absent, beside tool_calls, as OpenAI's does.
//
// Context: a prompt longer than the context window is a 400 with type
// exceed_context_size_error, code context_length_exceeded and
// llama.cpp's n_prompt_tokens and n_ctx; the prompt is never truncated.
// Tokenizing stops once the count passes the window, so n_prompt_tokens
// is then a lower bound (more than n_ctx), and a prompt of megabytes
// costs memory in proportion to the window, not to itself.
// An answer that fills the window ends there with finish_reason
// "length" and the text so far, as OpenAI and llama-server end it.
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
// thinking text — a plain digest, not Anthropic's
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
// bearer token), not_found_error (404, an unknown model under
// --strict-model, as chat completions answer it), request_too_large (413), overloaded_error
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
// more are answered at once with 429 and Retry-After. Requests are also
// admitted by memory: each is charged 8 bytes per byte of its body
// against Config.MaxRequestMemory (a quarter of the machine's memory by
// default) until it is answered, and one that does not fit is answered
// 503 (529 on the Messages API) with Retry-After; after a request with a
// body of 4 MiB or more the freed heap is handed back to the operating
// system at once. A client that
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
// returns. Requests the server cancels so are logged and counted with
// status 503 and the tokens they had generated, not as a client's 499.
package serve
