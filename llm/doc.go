// Package llm is tether's driver contract: the types every inference
// backend speaks and every consumer (the CLI, the coding agent, the server)
// is written against.
//
// A [Driver] turns a [Request] (system prompt, conversation, tool
// definitions, sampling settings) into a [Response] (text, reasoning, tool
// calls, stop reason, usage, timings), either at once with
// [Driver.Complete] or token by token with [Driver.Stream].
//
// Conversations are slices of [Message]. A message has one stable JSON form,
// used by the CLI's --messages files and by session files:
//
//	{"role":"system","content":"You are terse."}
//	{"role":"user","content":"list the Go files"}
//	{"role":"assistant","content":"Here they are."}
//	{"role":"assistant","tool_call":{"id":"call-1","name":"glob","input":{"pattern":"*.go"}}}
//	{"role":"tool","tool_result":{"tool_use_id":"call-1","name":"glob","content":"main.go","is_error":false}}
//
// The seed system's externally tagged form ({"User":"hello"},
// {"AssistantToolUse":{…}}, {"ToolResult":{…}}) is accepted on input so that
// existing session files can be read; tether always writes the form above.
//
// Errors that callers branch on are typed: see [BinaryNotFoundError],
// [StartupTimeoutError], [ServerExitedError], [HTTPError],
// [RateLimitedError], [ContextOverflowError] and [ModelFileError], and use
// [Retryable] to decide whether to try a request again. Their messages say
// what failed ("llama-server (pid 42) exited during startup …"), without
// a program name; each layer that wraps one adds what it was doing, and a
// program adds its own name once, where it prints the error.
package llm
