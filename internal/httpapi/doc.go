// Package httpapi is the HTTP plumbing the API clients (openai,
// anthropic) share: where a base URL points, a pooled transport that
// keeps loopback servers off the proxy, request timeouts, and the llm
// errors that failed requests and non-success answers become. What an
// API's error body says is each client's own concern.
//
// [Transport] is the transport of remote endpoints: an [Egress] check in
// its dialer enforces a privacy tier on every resolved address before
// any connection is opened, [Timeouts] bound connecting, the first byte
// and a stalled body, and [Retry] sends again a request whose answer
// never began.
package httpapi
