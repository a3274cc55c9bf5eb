// Package remote drives model servers that are already running somewhere
// — a vLLM, SGLang or TGI cluster, a llama-server on a bigger machine, a
// hosted API — through the OpenAI-compatible chat API ([Dial]) or
// Anthropic's Messages API ([DialAnthropic]). tether starts and stops
// nothing; it talks, within the limits the [Options] set:
//
//   - A privacy tier enforced on every connection, in the dialer, on the
//     resolved addresses: a request the tier forbids fails with an
//     *llm.PrivacyError before any connection is opened.
//   - The key from an environment variable or a file, never logged.
//   - The model checked against the server's list, with an
//     *llm.ModelNotFoundError naming the models it has.
//   - Timeouts for connecting, for the first byte, and for a stream that
//     stalls, each an *llm.TimeoutError inside an *llm.TransportError.
//   - Retries with exponential backoff and jitter for failures where no
//     answer began, honouring Retry-After; never for other 4xx answers,
//     and never once an answer has begun (a stream broken after its
//     first event is an *llm.InterruptedError).
package remote
