package remote_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/llm"
)

// A team's vLLM cluster: the key from a file, the data allowed to the
// cluster's network only, a stream that stalls for a minute given up.
// Settings are checked before anything is sent: on a machine without
// the key file, Dial returns at once with the setting at fault.
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
	var bad *llm.ConfigError
	if errors.As(err, &bad) { // also typed: *llm.PrivacyError, *llm.ModelNotFoundError…
		fmt.Println("bad setting:", bad.Setting)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	resp, err := d.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hello")}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text)
	// Output: bad setting: api_key_file
}

// Anthropic's API, the key from the environment; the tier must be
// standard, since the data leaves for a public API. Without the key in
// the environment nothing is sent.
func ExampleDialAnthropic() {
	ctx := context.Background()
	d, err := remote.DialAnthropic(ctx, remote.AnthropicOptions{
		Options: remote.Options{
			Endpoint:      "https://api.anthropic.com",
			APIKeyEnv:     "TEAM_ANTHROPIC_KEY",
			Model:         "claude-sonnet-4-5",
			ContextWindow: 200000,
			Privacy:       llm.Standard,
		},
		MaxTokens: 8192,
	})
	var bad *llm.ConfigError
	if errors.As(err, &bad) {
		fmt.Println("bad setting:", bad.Setting)
		return
	}
	if err != nil {
		log.Fatal(err)
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
	// Output: bad setting: api_key_env
}
