// Package router is an [llm.Driver] over an ordered list of drivers: the
// local managed server first, say, then the team's vLLM cluster, then a
// hosted API where the route's privacy tier allows one.
//
// A request goes to the first driver the route's tier allows. It moves on
// to the next only when the failure says another server may do better —
// the server is gone or unreachable, overloaded or rate limited, does not
// have the model, or its context window is too small ([ShouldFallback]) —
// and never on a bad request, an authentication failure or the caller's
// cancellation. A stream is never moved once it has produced an event:
// the caller would see text twice.
//
// The router counts attempts, successes, failures, fallbacks, latency and
// tokens per driver ([Router.Metrics]), estimates each answer's cost from
// the driver's [Price], and says in [llm.Response.Served] which driver
// answered and with what context window.
package router
