// Package managed launches a local OpenAI-compatible inference server as a supervised child process, waits
// until the server is really ready (its health answers, and it proves it
// is the server we launched), talks to it through the openai client, and
// stops it so that nothing is ever orphaned.
//
//	d, err := managed.Launch(ctx, managed.Options{Model: "qwen3-0.6b-q8_0.gguf"})
//	if err != nil { … }
//	defer d.Close()
//	resp, err := d.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
//
// Which server runs is the backend's choice (package backend): "auto"
// prefers apr, then llama-server, then tether's own server, and moves on
// to the next when one cannot start, except when the model file itself is
// at fault. Every launch gets a fresh loopback port (or a unix socket),
// and, where the server supports them, a fresh API key and model alias.
//
// A caller's requests are sent as built. An operator's settings (a
// max_tokens cap, sampling values, timeouts, no cgroups) are an explicit
// [Overrides] in [Options]; [OverridesFromEnv] reads them from the seed
// system's environment variables, as the tether CLI does, and refuses a
// value that does not parse rather than ignore it.
package managed
