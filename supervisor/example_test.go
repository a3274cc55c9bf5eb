package supervisor_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/tetherllm/tether/supervisor"
)

// Launching llama-server the way tether does: loopback, a kernel-chosen
// port, a per-launch API key and alias that prove the server answering is
// ours, the seed's size-aware start-up budget, and progress on stderr.
func ExampleLaunch() {
	const model = "/models/Qwen3-1.7B-Q4_K_M.gguf"
	port, err := supervisor.FreePort()
	if err != nil {
		log.Fatal(err)
	}
	key, alias := supervisor.NewSecret(), supervisor.NewSecret()
	size := int64(-1)
	if fi, err := os.Stat(model); err == nil {
		size = fi.Size()
	}
	budget := supervisor.ReadyBudget(size)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	p, err := supervisor.Launch(context.Background(), supervisor.Config{
		Backend:     "llama-server",
		Program:     "llama-server",
		InstallHint: "see https://github.com/ggml-org/llama.cpp#quick-start",
		Args: []string{"-m", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--api-key", key, "--alias", alias, "--jinja", "-ngl", "99"},
		Probe:       (&supervisor.HTTPHealth{BaseURL: base, ModelID: alias, APIKey: key, KeyCheckPath: "/props"}).Probe,
		ReadyLines:  []string{"server is listening on"},
		ReadyBudget: budget,
		Secrets:     []string{key},
		OnState:     func(ev supervisor.Event) { fmt.Fprintf(os.Stderr, "llama-server: %s\n", ev.Status) },
	})
	if err != nil {
		log.Fatal(err) // typed: *llm.BinaryNotFoundError, *llm.ServerExitedError, ...
	}
	defer p.Stop(context.Background())
	fmt.Println("ready at", base)
}
