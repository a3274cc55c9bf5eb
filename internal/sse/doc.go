// Package sse reads server-sent event streams, as the API clients
// (openai, anthropic) receive answers: it tells a streamed answer from a
// JSON one and reads its events with bounded lines.
package sse
