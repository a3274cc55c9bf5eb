package llm

import (
	"context"
	"iter"
)

// Driver runs completions against one model. Implementations are safe for
// concurrent use. After Close, every call returns an error wrapping
// [ErrClosed].
type Driver interface {
	// Complete runs one request to the end and returns its result.
	// Cancelling ctx aborts the request at once.
	Complete(ctx context.Context, req Request) (*Response, error)

	// Stream runs one request and yields its events as they happen. The
	// last event of a successful stream is [EventDone]. An error ends the
	// stream: it is yielded once, with a zero Event. Stopping the
	// iteration early, or cancelling ctx, aborts the request.
	Stream(ctx context.Context, req Request) iter.Seq2[Event, error]

	// Info describes the model and where it runs.
	Info() Info

	// Close releases the driver and anything it started (a managed
	// server is stopped). It is safe to call more than once.
	Close() error
}

// Info describes a driver's model and backend.
type Info struct {
	// Model is the name requests are sent with.
	Model string `json:"model"`
	// ContextWindow is the number of tokens prompt and answer share.
	ContextWindow int `json:"context_window"`
	// ContextSource says where ContextWindow came from: "server",
	// "gguf", "caller" or "engine".
	ContextSource string      `json:"context_source,omitempty"`
	Privacy       PrivacyTier `json:"privacy"`
	// Backend names what runs the model: "tether", "apr",
	// "llama-server", "ollama", "vllm", "custom", "embedded", "remote",
	// "router" (a route of several; see [Response.Served] for the one that
	// answered).
	Backend string `json:"backend"`
	// Address is the server's base URL, or empty for in-process drivers.
	Address string `json:"address,omitempty"`
}

// CompleteFromStream runs a streaming request to the end and returns the
// response of its [EventDone]. Drivers whose Complete is a streamed
// request in disguise use it.
func CompleteFromStream(stream iter.Seq2[Event, error]) (*Response, error) {
	for ev, err := range stream {
		if err != nil {
			return nil, err
		}
		if ev.Kind == EventDone {
			return ev.Response, nil
		}
	}
	return nil, &ProtocolError{Reason: "stream ended without a final event"}
}
