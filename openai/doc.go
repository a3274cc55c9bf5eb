// Package openai is tether's client for OpenAI-compatible chat servers:
// llama-server, vLLM, ollama, apr, tether's own server, and remote
// endpoints. One [Client] talks to one server and implements
// [llm.Driver].
//
// What it copes with, so that callers need not:
//
//   - Reasoning in reasoning_content (llama.cpp, vLLM), reasoning
//     (ollama, newer vLLM) or inline <think> blocks, including the bare
//     </think> left when the chat template opened the block. It goes to
//     Reasoning and never into Text; tool calls written inside it are
//     never run.
//   - Tool calls as native tool_calls (streamed fragments merged by index,
//     arguments checked as JSON once complete) or as text in the
//     <tool_call> protocol of package toolcall, in either tool mode.
//   - SSE as servers really send it: comment pings, CRLF or CR line ends,
//     "data:" with or without a space, multi-line data, event lines,
//     [DONE] or not, errors in the middle of a stream, lines of many
//     megabytes, UTF-8 cut between reads.
//   - Usage from usage, or from llama.cpp's timings.
//   - Errors as llm types: rate limiting and overload with Retry-After,
//     context overflow with the token counts, HTTP errors with the
//     server's message, transport failures, unreadable answers.
//
// Requests use one pooled HTTP client per Client. Loopback and unix-socket
// servers are never reached through HTTP_PROXY or HTTPS_PROXY; other
// hosts follow the environment. Cancelling a request's context aborts it
// at once, mid-stream too, and the call returns the context's error.
package openai
