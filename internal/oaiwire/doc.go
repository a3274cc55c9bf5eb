// Package oaiwire is OpenAI's chat completion wire format, one set of
// types for both sides of it: tether serve encodes its answers with them
// and tether's openai client decodes answers with them, so the two
// cannot drift apart. The types encode exactly what tether serve sends
// and decode, leniently, what OpenAI-compatible servers send (content as
// a string, null or text parts; reasoning under reasoning_content or
// reasoning; tool-call arguments as a string or an object; vLLM's
// stop_reason; an error object in place of a chunk).
//
// The request's messages and tools (RequestMessage, Tool) are shared the
// same way: the client encodes them, the server decodes them.
//
// The encoders (MessageOf, Deltas, UsageOf, TimingsOf, FinishReason)
// turn tether's llm answers and events into the wire shapes; turning the
// wire shapes back into an llm.Response is the client's work (package
// openai), since it also parses reasoning and tool calls out of other
// servers' text.
package oaiwire
