// Package httpapi is the HTTP plumbing the API clients (openai,
// anthropic) share: where a base URL points, a pooled transport that
// keeps loopback servers off the proxy, request timeouts, and the llm
// errors that failed requests and non-success answers become. What an
// API's error body says is each client's own concern.
package httpapi
