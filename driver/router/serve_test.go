package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/driver/router"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/internal/testserve"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/llm/llmtest"
	"github.com/tetherllm/tether/openai"
)

// TestFallbackToARealServer routes past a dead loopback endpoint to a
// real `tether serve` process: once with the dead driver already made
// (the request is refused at connect), once opened on use (dialling
// fails), for Complete and Stream.
func TestFallbackToARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	srv := testserve.Start(t, testmodel.Write(t, testmodel.Spec{Name: "tiny"}))
	dead := testserve.DeadURL(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	deadClient, err := openai.New(openai.Options{BaseURL: dead, Model: "tiny", Backend: "remote", Privacy: llm.Sovereign, ContextWindow: 512})
	if err != nil {
		t.Fatal(err)
	}
	open := func(url string) func(context.Context) (llm.Driver, error) {
		return func(ctx context.Context) (llm.Driver, error) { return remote.Dial(ctx, remote.Options{Endpoint: url}) }
	}
	for _, c := range []struct {
		name string
		dead router.Member
	}{
		{"made", router.Member{Name: "dead", Driver: deadClient}},
		{"opened on use", router.Member{Name: "dead", Privacy: llm.Sovereign, Open: open(dead)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := router.New(router.Options{Name: "local", Logger: quiet}, c.dead,
				router.Member{Name: "serve", Privacy: llm.Sovereign, Open: open(srv.URL), Price: router.Price{InputPerMTok: 1, OutputPerMTok: 2}})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			req := llm.Request{Messages: []llm.Message{llm.UserMessage("hello")}, MaxTokens: 4, Temperature: llm.Ptr(0.0)}
			resp, err := r.Complete(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			s := resp.Served
			if s == nil || s.Driver != "serve" || s.Model != "tiny" || s.ContextWindow <= 0 || s.Attempts != 2 || resp.Usage.OutputTokens == 0 {
				t.Fatalf("served %+v, usage %+v", s, resp.Usage)
			}
			if want := (router.Price{InputPerMTok: 1, OutputPerMTok: 2}).Cost(resp.Usage); s.CostUSD != want || want == 0 {
				t.Fatalf("cost %v, want %v", s.CostUSD, want)
			}
			done, err := llmtest.CheckStream(r.Stream(ctx, req))
			if err != nil {
				t.Fatal(err)
			}
			if done.Served == nil || done.Served.Driver != "serve" || done.Served.Attempts != 2 {
				t.Fatalf("stream: done %v", done)
			}
			m := r.Metrics()
			if m[0].Attempts != 2 || m[0].Fallbacks != 2 || m[1].Successes != 2 || m[1].OutputTokens != resp.Usage.OutputTokens+done.Usage.OutputTokens {
				t.Fatalf("metrics %+v", m)
			}
			if info := r.Info(); info.Model != "tiny" || info.ContextWindow != s.ContextWindow {
				t.Fatalf("info %+v", info)
			}
		})
	}

	t.Run("a context too small falls back; a refused key does not", func(t *testing.T) {
		model := testmodel.Write(t, testmodel.Spec{Name: "tiny"})
		small := testserve.Start(t, model, "--ctx", "64")
		keyed := testserve.Start(t, model, "--api-key", "right-key")
		smallDriver, err := remote.Dial(ctx, remote.Options{Endpoint: small.URL})
		if err != nil {
			t.Fatal(err)
		}
		wrongKey, err := openai.New(openai.Options{BaseURL: keyed.URL, APIKey: "wrong-key", Model: "tiny", Backend: "remote", Privacy: llm.Sovereign})
		if err != nil {
			t.Fatal(err)
		}
		r, err := router.New(router.Options{Name: "local", Logger: quiet},
			router.Member{Name: "small", Driver: smallDriver},
			router.Member{Name: "serve", Privacy: llm.Sovereign, Open: open(srv.URL)})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		long := llm.Request{Messages: []llm.Message{llm.UserMessage(strings.Repeat("hello world ", 100))}, MaxTokens: 2}
		resp, err := r.Complete(ctx, long)
		if err != nil || resp.Served.Driver != "serve" {
			t.Fatalf("resp %v, err %v", resp, err)
		}
		if m := r.Metrics(); m[0].Failures != 1 || m[0].Fallbacks != 1 {
			t.Fatalf("metrics %+v", m)
		}

		r2, err := router.New(router.Options{Name: "local", Logger: quiet},
			router.Member{Name: "keyed", Driver: wrongKey},
			router.Member{Name: "serve", Privacy: llm.Sovereign, Open: open(srv.URL)})
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		_, err = r2.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxTokens: 2})
		var he *llm.HTTPError
		if !errors.As(err, &he) || he.StatusCode != 401 {
			t.Fatalf("err %v, want the 401", err)
		}
		if m := r2.Metrics(); m[0].Failures != 1 || m[0].Fallbacks != 0 || m[1].Attempts != 0 {
			t.Fatalf("metrics %+v: the next driver was tried", m)
		}
	})

	t.Run("a full queue (429) falls back", func(t *testing.T) {
		words := testmodel.Write(t, testmodel.Spec{Name: "words", WordsOnly: true})
		busy := testserve.Start(t, words, "--parallel", "1", "--max-queue", "0")
		// No retries: the driver's own retries would wait for the slot
		// to free (the hog's answer ends at the model's context), and
		// this is the router's fallback, not the driver's patience.
		busyDriver, err := remote.Dial(ctx, remote.Options{Endpoint: busy.URL, Retry: remote.Retry{Attempts: -1}})
		if err != nil {
			t.Fatal(err)
		}
		defer busyDriver.Close()
		// Hold the server's only slot with a long answer, until the test
		// is done with it.
		hogCtx, stopHog := context.WithCancel(ctx)
		defer stopHog()
		started := make(chan struct{})
		hogDone := make(chan struct{})
		go func() {
			defer close(hogDone)
			once := false
			for _, err := range busyDriver.Stream(hogCtx, llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, MaxTokens: 100000}) {
				if err != nil {
					break
				}
				if !once {
					once = true
					close(started)
				}
			}
			if !once {
				close(started)
			}
		}()
		<-started
		_, err = busyDriver.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxTokens: 2})
		var rl *llm.RateLimitedError
		if !errors.As(err, &rl) || rl.StatusCode != 429 {
			t.Fatalf("the busy server answered %v, want a 429", err)
		}
		r, err := router.New(router.Options{Name: "local", Logger: quiet},
			router.Member{Name: "busy", Driver: busyDriver},
			router.Member{Name: "serve", Privacy: llm.Sovereign, Open: open(srv.URL)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := r.Complete(ctx, llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxTokens: 2})
		if err != nil || resp.Served.Driver != "serve" {
			t.Fatalf("resp %v, err %v", resp, err)
		}
		if m := r.Metrics(); m[0].Failures != 1 || m[0].Fallbacks != 1 {
			t.Fatalf("metrics %+v", m)
		}
		stopHog()
		<-hogDone
	})
}
