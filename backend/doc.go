// Package backend describes how to launch and probe each kind of local
// inference server tether can supervise: tether's own server, apr,
// llama-server, ollama, vLLM, and any other server through a command
// template.
//
// A [Profile] is data plus a few hooks: the program and its install hint,
// the argv and environment for one [Launch], the health semantics the
// supervisor's readiness state machine probes, how to prove the server
// that answers is the one we launched, how tools travel, and how to ask the
// running server for its context window. The managed driver
// (driver/managed) turns a profile into a running, supervised server.
//
// [Auto] is the seed's preference: apr, then llama-server, then tether's
// own server, which is always there.
package backend
