// Command faultserver is a scripted stand-in for local OpenAI-compatible
// inference servers, for tests. One binary answers to the command lines of
// llama-server, apr and tether (serve run MODEL …) and vLLM (serve MODEL …),
// so a test can put it on PATH under any of those names, and it misbehaves
// on request.
//
// # Command lines
//
//	llama-server -m FILE [--host H] [--port P] [-c N] [-ngl N] [--jinja] [--api-key K | --api-key-file F] [--alias A]
//	apr serve run MODEL --port P --host H [--gpu]
//	tether serve run MODEL --host H --port P
//	vllm serve MODEL [--host H] [--port P] [--uds PATH] [--api-key K] [--served-model-name A] [--max-model-len N]
//
// A --host ending in ".sock" (llama-server's convention) or --uds PATH
// serves on that unix socket. Other flags are accepted and ignored; an
// unknown flag followed by a word takes that word as its value. The default
// address is 127.0.0.1:8080. Without --api-key (or --api-key-file, whose
// first line is the key) the key comes from the environment, as the real
// servers take it: LLAMA_API_KEY for llama-server, VLLM_API_KEY for vLLM,
// TETHER_API_KEY for the "serve run" form.
//
// # Endpoints
//
// GET /health (and /v1/health) answers 503
// {"error":{"code":503,"message":"Loading model","type":"unavailable_error"},"progress":0.4}
// while the model "loads", then 200 {"status":"ok"}. GET /v1/models (and
// /models) lists one model whose id is the alias, else the model file's
// stem, with meta.n_ctx_train and max_model_len. GET /props gives n_ctx.
// POST /v1/chat/completions answers with a scripted answer, at once or as
// server-sent events, honouring stream_options.include_usage and
// max_tokens. With --api-key every endpoint but health and the model list
// (llama.cpp's public ones; the vLLM form, like vLLM, also protects the
// model list) and /fault/info requires "Authorization: Bearer K" and answers
// 401 otherwise. While loading, every endpoint but health and
// /fault/info answers 503. GET /fault/info reports the server's pid, its
// grandchild's pid, its argv, the parsed flags and, for ?env=A,B, those
// environment variables. Every request is logged to stderr, synchronously,
// as llama-server does: a server whose stderr is not drained stalls.
//
// # Faults
//
// Each fault is a flag --fault-NAME=VALUE (a bare --fault-NAME means true)
// or an environment variable TETHER_FAULT_NAME (upper case, "-" as "_");
// flags win. Durations are Go durations ("1.5s"), sizes take K, M or G.
//
//	load=D              take D to load, answering 503 meanwhile (default 0)
//	steps=N             report loading progress in N steps, each logged (default 10)
//	no-progress         leave the progress out of /health (loading shows only in the log)
//	bind=after-load     bind only once loaded, as some servers do (default: bind first, like llama-server)
//	quiet               log nothing but crashes (no startup, progress or request lines)
//	heartbeat=D         log "still loading, heartbeat N at TIME" every D until ready
//	crash=LINE          write LINE to stderr and exit, e.g. "cudaMalloc failed: out of memory"
//	crash-after=D       crash D after start instead of at once (the server listens and loads meanwhile)
//	crash-code=N        exit status for crashes (default 1)
//	crash-signal=SIG    die by signal KILL, TERM, ABRT or SEGV instead of exiting
//	crash-mid-stream=N  crash after N streamed chunks of an answer (crash, crash-code and crash-signal then say how, not when)
//	exit-file=PATH      write the Unix-nanosecond time to PATH just before crashing
//	hang=all            accept connections and never answer anything
//	hang=chat           answer health, but never answer a chat completion
//	flood=SIZE          once ready, write SIZE bytes of log lines as fast as possible
//	flood-to=WHERE      stdout, stderr or both (default both)
//	grandchild=group    start a child that stays in our process group, ignores SIGTERM and holds our stdout and stderr
//	grandchild=escape   the same, but in a session of its own (out of the group)
//	grandchild-after=D  start the grandchild D after start rather than at once
//	ignore-sigterm      ignore SIGTERM (default: exit 0 on SIGTERM, after term-delay)
//	term-delay=D        take D to shut down after SIGTERM
//	answer=TEXT         the answer's text (default "Hello from faultserver.")
//	echo                answer with the last user message instead
//	reasoning=TEXT      think this first (default none)
//	reasoning-format=F  field (reasoning_content, default), ollama (reasoning), think (inline <think>…</think>), bare (…</think>, opener left to the template)
//	tool-calls=JSON     call tools: [{"name":"glob","arguments":{"pattern":"*.go"}}]; streamed as deltas by index
//	chunk-delay=D       pause D between streamed chunks
//	sse-pings           send ": ping" comment lines between chunks
//	squat               answer 200 to everything, ignore keys, list a model named "squatter"
//	ready-file=PATH     write the Unix-nanosecond time to PATH the moment the server turns ready
//	n-ctx-train=N       the model's training context (default 32768)
//	max-life=D          exit after D whatever happens, so a leaked server cannot outlive a test run for long (default 10m)
package main

import (
	"fmt"
	"os"
)

func main() {
	opts, err := parseArgs(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	os.Exit(run(opts))
}
