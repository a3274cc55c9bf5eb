package remote_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/llm"
)

// A team's vLLM cluster: the key from a file, the data allowed to the
// cluster's network only, a stream that stalls for a minute given up.
func ExampleDial() {
	ctx := context.Background()
	d, err := remote.Dial(ctx, remote.Options{
		Endpoint:        "http://vllm.gpu.internal:8000",
		APIKeyFile:      "/run/secrets/vllm-key",
		Model:           "Qwen/Qwen3-Coder-30B-A3B-Instruct",
		Privacy:         llm.Private,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")},
		Timeouts:        remote.Timeouts{Connect: 5 * time.Second, Idle: time.Minute},
		Retry:           remote.Retry{Attempts: 3},
	})
	if err != nil {
		fmt.Println(err) // an *llm.PrivacyError, *llm.ModelNotFoundError, *llm.ConfigError…
		return
	}
	defer d.Close()
	resp, err := d.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hello")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
}

// Anthropic's API, the key from the environment; the tier must be
// standard, since the data leaves for a public API.
func ExampleDialAnthropic() {
	ctx := context.Background()
	d, err := remote.DialAnthropic(ctx, remote.AnthropicOptions{
		Options: remote.Options{
			Endpoint:      "https://api.anthropic.com",
			APIKeyEnv:     "ANTHROPIC_API_KEY",
			Model:         "claude-sonnet-4-5",
			ContextWindow: 200000,
			Privacy:       llm.Standard,
		},
		MaxTokens: 8192,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	for ev, err := range d.Stream(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hello")}}) {
		if err != nil {
			fmt.Println(err) // an *llm.InterruptedError once text has come
			return
		}
		if ev.Kind == llm.EventTextDelta {
			fmt.Print(ev.Text)
		}
	}
}
