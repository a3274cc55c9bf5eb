//go:build unix

package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/internal/testserve"
	"github.com/tetherllm/tether/llm"
)

// startServe runs the real `tether serve run` on a loopback port with an
// API key and one slot with no queue, standing in for a remote cluster,
// and returns its URL once the model is loaded.
func startServe(t *testing.T, key string) string {
	t.Helper()
	model := testmodel.Write(t, testmodel.Spec{WordsOnly: true, Context: 16384, Name: "tiny-remote"})
	return testserve.StartWithKey(t, key, model, "--parallel", "1", "--max-queue", "-1", "--ctx", "16384", "--threads", "1").URL
}

// holdSlot starts an endless streamed generation and returns once it is
// generating, so that the server's only slot is taken; the returned
// function ends it.
func holdSlot(t *testing.T, url, key, path, body string) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			cancel()
			t.Fatalf("the holding stream ended: %v", err)
		}
		// Generated text, not the role chunk sent before a slot is taken.
		if bytes.Contains(line, []byte(`"content":"`)) && !bytes.Contains(line, []byte(`"content":""`)) || bytes.Contains(line, []byte(`"text_delta"`)) {
			break
		}
	}
	return func() {
		cancel()
		resp.Body.Close()
	}
}

// TestAgainstTetherServe uses a real tether serve process as the remote
// cluster: the key is required, the model list is checked, both APIs
// answer, and a full queue answers 429 (529 on the Messages API) whose
// Retry-After each retry waits for.
func TestAgainstTetherServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tether serve")
	}
	const key = "tether-test-key-81f2"
	url := startServe(t, key)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := llm.Request{Messages: []llm.Message{llm.UserMessage("hello")}, MaxTokens: 6}

	t.Run("no key", func(t *testing.T) {
		var w waits
		d, err := Dial(ctx, Options{Endpoint: url, Retry: Retry{Attempts: 3, Sleep: w.sleep}})
		if err != nil {
			t.Fatal(err) // the model list needs no key
		}
		_, err = d.Complete(ctx, req)
		var he *llm.HTTPError
		if !errors.As(err, &he) || he.StatusCode != 401 || len(w.got()) != 0 {
			t.Fatalf("err %v, waits %v: want a 401, not retried", err, w.got())
		}
	})
	t.Run("model check", func(t *testing.T) {
		_, err := Dial(ctx, Options{Endpoint: url, APIKeyFile: keyFile, Model: "gpt-4o"})
		var mnf *llm.ModelNotFoundError
		if !errors.As(err, &mnf) || len(mnf.Available) != 1 || mnf.Available[0] != "tiny-remote" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("openai", func(t *testing.T) {
		d, err := Dial(ctx, Options{Endpoint: url, APIKeyFile: keyFile, Model: "tiny-remote"})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if info := d.Info(); info.ContextWindow != 16384 || info.Privacy != llm.Sovereign {
			t.Errorf("info %+v", info)
		}
		c := collect(d, ctx, req)
		if c.err != nil || c.resp == nil || c.text == "" || c.resp.Usage.OutputTokens != 6 || c.resp.StopReason != llm.StopMaxTokens {
			t.Fatalf("stream: %+v", c)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		t.Setenv("TETHER_TEST_SERVE_KEY", key)
		d, err := DialAnthropic(ctx, AnthropicOptions{Options: Options{Endpoint: url, APIKeyEnv: "TETHER_TEST_SERVE_KEY", Model: "tiny-remote"}})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		c := collect(d, ctx, req)
		if c.err != nil || c.resp == nil || c.text == "" || c.resp.Usage.OutputTokens != 6 || c.resp.Usage.InputTokens == 0 {
			t.Fatalf("stream: %+v", c)
		}
		r, err := d.Complete(ctx, req)
		if err != nil || r.Text == "" {
			t.Fatalf("complete: %v %v", r, err)
		}
	})
	t.Run("queue full", func(t *testing.T) {
		release := holdSlot(t, url, key, "/v1/chat/completions",
			`{"model":"tiny-remote","stream":true,"max_tokens":-1,"ignore_eos":true,"messages":[{"role":"user","content":"go on"}]}`)
		defer release()
		var w waits
		d, err := Dial(ctx, Options{Endpoint: url, APIKeyFile: keyFile, Retry: Retry{Attempts: 2, Sleep: w.sleep}})
		if err != nil {
			t.Fatal(err)
		}
		c := collect(d, ctx, req)
		var rl *llm.RateLimitedError
		if !errors.As(c.err, &rl) || rl.StatusCode != 429 || rl.RetryAfter < time.Second {
			t.Fatalf("err %v, want a 429 with Retry-After", c.err)
		}
		if got := w.got(); len(got) != 2 || got[0] < time.Second || got[1] < time.Second {
			t.Errorf("waits %v, want 2 of at least the 1s Retry-After", got)
		}
		a, err := DialAnthropic(ctx, AnthropicOptions{Options: Options{Endpoint: url, APIKeyFile: keyFile, Model: "tiny-remote", Retry: Retry{Attempts: 1, Sleep: w.sleep}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Complete(ctx, req)
		if !errors.As(err, &rl) || rl.StatusCode != 529 || !rl.Overloaded || len(w.got()) != 3 {
			t.Fatalf("messages: err %v, waits %v, want a 529 retried once", err, w.got())
		}
	})
	t.Run("retry after the slot frees", func(t *testing.T) {
		if err := waitIdle(ctx, url, key); err != nil { // the last test's holder may still run
			t.Fatal(err)
		}
		release := holdSlot(t, url, key, "/v1/chat/completions",
			`{"model":"tiny-remote","stream":true,"max_tokens":-1,"ignore_eos":true,"messages":[{"role":"user","content":"go on"}]}`)
		defer release()
		var w waits
		// The wait a retry asks for is where the slot frees: the holding
		// stream ends, and the wait lasts until the server says no slot
		// is active.
		sleep := func(ctx context.Context, d time.Duration) error {
			w.sleep(ctx, d)
			release()
			return waitIdle(ctx, url, key)
		}
		d, err := Dial(ctx, Options{Endpoint: url, APIKeyFile: keyFile, Retry: Retry{Attempts: 1, Sleep: sleep}})
		if err != nil {
			t.Fatal(err)
		}
		c := collect(d, ctx, req)
		if c.err != nil || c.resp == nil || c.resp.Usage.OutputTokens != 6 {
			t.Fatalf("after the retry: %+v", c)
		}
		if got := w.got(); len(got) != 1 || got[0] < time.Second {
			t.Errorf("waits %v, want one of at least the 1s Retry-After", got)
		}
	})
}

// waitIdle polls the server's /metrics until no slot is generating.
func waitIdle(ctx context.Context, url, key string) error {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if bytes.Contains(b.Bytes(), []byte("\ntether_slots_active 0\n")) {
			return nil
		}
	}
	return ctx.Err()
}
