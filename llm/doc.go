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
// used by the CLI's --messages files and by session files. An assistant
// message is one whole turn of the model: its text, its reasoning and all
// the tool calls it made; each call's result is a tool message.
//
//	{"role":"system","content":"You are terse."}
//	{"role":"user","content":"weather in Paris and Lima?"}
//	{"role":"assistant","content":"Checking both.","reasoning":"Two cities, two calls.","tool_calls":[
//	  {"id":"call-1","name":"get_weather","input":{"city":"Paris"}},
//	  {"id":"call-2","name":"get_weather","input":{"city":"Lima"}}]}
//	{"role":"tool","tool_result":{"tool_use_id":"call-1","name":"get_weather","content":"12","is_error":false}}
//	{"role":"tool","tool_result":{"tool_use_id":"call-2","name":"get_weather","content":"18","is_error":false}}
//	{"role":"assistant","content":"Paris 12, Lima 18."}
//
// Two older forms are read so that existing session files load: one
// "tool_call" object per assistant message, and the seed system's
// externally tagged form ({"User":"hello"}, {"AssistantToolUse":{…}},
// {"ToolResult":{…}}). tether always writes the form above.
//
// Errors that callers branch on are typed: see [BinaryNotFoundError],
// [StartupTimeoutError], [ServerExitedError], [HTTPError],
// [RateLimitedError], [ContextOverflowError] and [ModelFileError], and use
// [Retryable] to decide whether to try a request again. Their messages say
// what failed ("llama-server (pid 42) exited during startup …"), without
// a program name; each layer that wraps one adds what it was doing, and a
// program adds its own name once, where it prints the error.
package llm
