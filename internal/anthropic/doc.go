// Package anthropic is Anthropic's Messages API on both sides: the wire
// types that tether serve's POST /v1/messages reads and writes, the
// [Encoder] that turns a generation's [llm.Event]s into the API's stream
// events and answer, the [Decoder] that does the reverse, and [Client],
// an [llm.Driver] for any server that speaks the API (Anthropic's own,
// tether serve, proxies).
//
// What the client does, so that callers need not:
//
//   - llm requests in the API's shape ([NewRequest]): the system prompt
//     apart, alternating user and assistant messages, tool uses and
//     results as tool_use and tool_result blocks, max_tokens always set
//     (Options.MaxTokens, else [DefaultMaxTokens]). Settings the API does
//     not have (min_p, repeat_penalty, repeat_last_n, seed) are refused
//     with an *llm.RequestError, never dropped.
//   - Answers and streams alike through one [Decoder]: text and thinking
//     deltas as llm events, tool_use blocks as tool calls whose input is
//     checked as a JSON object once complete, stop_reason mapped to
//     tether's, usage (the three input counts summed).
//   - Errors as llm types: 429 rate limiting and 503/529 overload with
//     Retry-After, "prompt is too long: N tokens > M maximum" as a
//     context overflow with its counts, other answers as *llm.HTTPError
//     with the server's message, error events in a stream by their
//     type, transport failures, unreadable answers.
//
// The key goes in x-api-key, with anthropic-version (Options.Version,
// else [DefaultVersion]). Loopback and unix-socket servers are never
// reached through a proxy.
package anthropic
