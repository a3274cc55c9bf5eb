package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestConcurrentClients runs 64 clients at once, half streaming, each
// with its own seed: every one gets its whole answer, and the answers are
// the ones the same requests give alone.
func TestConcurrentClients(t *testing.T) {
	const clients = 64
	ts := startServer(t, Config{Engine: enginePar(4)})
	c := officialClient(ts, "")
	params := func(i int) oai.ChatCompletionNewParams {
		p := chatParams(6)
		p.Temperature, p.Seed = oai.Float(1), oai.Int(int64(i))
		p.Messages = append(p.Messages, oai.UserMessage(fmt.Sprintf("question %d", i)))
		return p
	}
	run := func(i int) (string, error) {
		ctx := context.Background()
		if i%2 == 0 {
			r, err := c.Chat.Completions.New(ctx, params(i))
			if err != nil {
				return "", err
			}
			if r.Usage.CompletionTokens != 6 || r.Choices[0].FinishReason != "length" {
				return "", fmt.Errorf("client %d: incomplete answer %s", i, r.RawJSON())
			}
			return r.Choices[0].Message.Content, nil
		}
		s := c.Chat.Completions.NewStreaming(ctx, params(i))
		var acc oai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			return "", err
		}
		if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "length" {
			return "", fmt.Errorf("client %d: incomplete stream %+v", i, acc.ChatCompletion)
		}
		return acc.Choices[0].Message.Content, nil
	}
	var wg sync.WaitGroup
	got := make([]string, clients)
	errs := make([]error, clients)
	for i := range clients {
		wg.Go(func() { got[i], errs[i] = run(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	// Each answer is what its request gives alone.
	for _, i := range []int{0, 1, 17, 63} {
		alone, err := run(i)
		if err != nil {
			t.Fatal(err)
		}
		if alone != got[i] {
			t.Errorf("client %d: %q under load, %q alone", i, got[i], alone)
		}
	}
	// A request is counted once its handler has returned, which may be
	// just after the client has read the answer.
	waitFor(t, fmt.Sprintf("/metrics to count %d answered chat requests", clients+4), func() bool {
		return ts.metric(t, "", `tether_requests_total{endpoint="/v1/chat/completions",status="200"}`) == clients+4
	})
}

// TestDisconnectCancels checks that a client going away mid-stream stops
// its generation at once, and that /metrics counts it.
func TestDisconnectCancels(t *testing.T) {
	ts := startServer(t, Config{Engine: engineCtx(4096)})
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			before := ts.metric(t, "", "tether_generations_cancelled_total")
			ctx, cancel := context.WithCancel(context.Background())
			body := chatBody(map[string]any{"stream": stream, "max_tokens": -1, "ignore_eos": true})
			done := make(chan struct{})
			go func() {
				defer close(done)
				data, _ := json.Marshal(body)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/v1/chat/completions", bytes.NewReader(data))
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			waitFor(t, "the generation to start", func() bool { return !ts.engineIdle() })
			cancel()
			<-done
			waitFor(t, "the slot to be freed", ts.engineIdle)
			waitFor(t, "the cancellation to be counted", func() bool {
				return ts.metric(t, "", "tether_generations_cancelled_total") == before+1
			})
			waitFor(t, "a 499 in the request counts", func() bool {
				return ts.metric(t, "", `tether_requests_total{endpoint="/v1/chat/completions",status="499"}`) >= 1
			})
		})
	}
}

// TestQueueFull checks that requests beyond the slots and the queue are
// refused at once with 429 and Retry-After, and accepted again when there
// is room.
func TestQueueFull(t *testing.T) {
	ts := startServer(t, Config{MaxQueue: -1, Engine: engineCtx(4096)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, _ := ts.sseLines(t, ctx, "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": -1, "ignore_eos": true}), "")
	<-lines
	a := ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(nil), "")
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("a request beyond the slot: %d %s", a.status, a.body)
	}
	if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
	}
	if obj := a.errorObject(t); obj["code"] != "rate_limit_exceeded" {
		t.Errorf("429 error %v", obj)
	}
	waitFor(t, "the refusal to be counted", func() bool { return ts.metric(t, "", "tether_requests_rejected_total") == 1 })
	cancel()
	for range lines {
	}
	waitFor(t, "the slot to be freed", ts.engineIdle)
	waitFor(t, "room for a request", func() bool {
		return ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(nil), "").status == http.StatusOK
	})
}

// TestPings checks that a streamed request waiting for a slot gets SSE
// comments meanwhile, and that an OpenAI client reads through them.
// generating waits until a stream has sent generated text, so that its
// generation holds the slot: the role chunk comes before the request
// has even reached the engine's queue.
func generating(t *testing.T, lines <-chan string) {
	t.Helper()
	for l := range lines {
		if strings.HasPrefix(l, "data: ") && strings.Contains(l, `"delta":{"content":"`) && !strings.Contains(l, `"content":""`) {
			return
		}
	}
	t.Fatal("the stream ended before it generated anything")
}

func TestPings(t *testing.T) {
	ts := startServer(t, Config{PingInterval: 20 * time.Millisecond, Engine: engineCtx(4096)})
	busy, cancelBusy := context.WithCancel(context.Background())
	defer cancelBusy()
	first, _ := ts.sseLines(t, busy, "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": -1, "ignore_eos": true}), "")
	generating(t, first)
	lines, _ := ts.sseLines(t, context.Background(), "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": 4}), "")
	pings := 0
	var all []string
	timeout := time.After(20 * time.Second)
	for pings < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the queued stream ended without pings: %q", all)
			}
			all = append(all, l)
			if l == ": ping" {
				pings++
			}
		case <-timeout:
			t.Fatalf("no pings while queued; got %q", all)
		}
	}
	cancelBusy()
	for l := range lines {
		all = append(all, l)
	}
	if lastData(all) != "data: [DONE]" {
		t.Errorf("the queued stream did not finish: %q", all)
	}
	// OpenAI's client reads through the comments.
	waitFor(t, "the slot to be freed", ts.engineIdle)
	busy2, cancelBusy2 := context.WithCancel(context.Background())
	defer cancelBusy2()
	first2, _ := ts.sseLines(t, busy2, "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": -1, "ignore_eos": true}), "")
	generating(t, first2)
	pinged := make(chan struct{})
	go func() {
		<-pinged // the official client's request has waited through a ping
		cancelBusy2()
	}()
	sniffer := &http.Client{Transport: sniffTransport{pinged: pinged}}
	c := oai.NewClient(option.WithBaseURL(ts.url+"/v1/"), option.WithMaxRetries(0), option.WithHTTPClient(sniffer))
	s := c.Chat.Completions.NewStreaming(context.Background(), chatParams(3))
	var acc oai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil || len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" {
		t.Errorf("official client after pings: %v %+v", err, acc.ChatCompletion)
	}
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, Config{})
	ts.call(t, http.MethodPost, "/v1/chat/completions", chatBody(nil), "")
	ts.call(t, http.MethodGet, "/nowhere", nil, "")
	waitFor(t, "both requests to be counted", func() bool {
		return ts.metric(t, "", `tether_requests_total{endpoint="other",status="404"}`) == 1 &&
			ts.metric(t, "", `tether_requests_total{endpoint="/v1/chat/completions",status="200"}`) == 1
	})
	a := ts.call(t, http.MethodGet, "/metrics", nil, "")
	body := string(a.body)
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	for _, want := range []string{
		`tether_requests_total{endpoint="/v1/chat/completions",status="200"} 1`,
		`tether_requests_total{endpoint="other",status="404"} 1`,
		`tether_request_duration_seconds_count{endpoint="/v1/chat/completions"} 1`,
		`tether_request_duration_seconds_bucket{endpoint="/v1/chat/completions",le="+Inf"} 1`,
		`tether_time_to_first_token_seconds_count 1`,
		`tether_generated_tokens_total 8`,
		`tether_slots_total 1`,
		`tether_queue_depth 0`,
		`tether_model_loaded 1`,
		"# TYPE tether_requests_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if ts.metric(t, "", "tether_prompt_tokens_total") < 10 {
		t.Errorf("prompt tokens not counted")
	}
}

// sniffTransport closes pinged when an answer carries an SSE ping.
type sniffTransport struct{ pinged chan struct{} }

func (s sniffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &sniffBody{ReadCloser: resp.Body, pinged: s.pinged}
	}
	return resp, err
}

type sniffBody struct {
	io.ReadCloser
	pinged chan struct{}
	seen   []byte
	once   sync.Once
}

func (b *sniffBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.seen = append(b.seen, p[:n]...)
	if bytes.Contains(b.seen, []byte(": ping\n")) {
		b.once.Do(func() { close(b.pinged) })
	}
	return n, err
}
