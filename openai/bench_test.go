package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

// benchRequest is a typical agent turn: a system prompt, some history, two
// tools.
func benchRequest() llm.Request {
	req := fullRequest()
	req.System = "You are a coding assistant. Answer briefly and use the tools when needed."
	return req
}

const benchAnswer = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","reasoning_content":"The user wants the files listed; I already have them.","content":"The Go files are main.go, server.go and client.go. Each has tests beside it; run go test ./... to check them."}}],"usage":{"prompt_tokens":412,"completion_tokens":38,"total_tokens":450},"timings":{"prompt_n":12,"prompt_ms":20.1,"predicted_n":38,"predicted_ms":380.5}}`

const benchStream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Listing.\"}}]}\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The Go files are \"}}]}\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"main.go and server.go.\"}}]}\n\n" +
	"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
	"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":412,\"completion_tokens\":9}}\n\n" +
	"data: [DONE]\n\n"

// BenchmarkOverhead compares, side by side in one run and interleaved so
// that both see the same machine load, a Client request with a bare
// http.Post of the same body to the same local server returning the same
// canned answer. It reports the medians and the client's overhead.
func BenchmarkOverhead(b *testing.B) {
	for _, tc := range []struct {
		name, contentType, answer string
		stream                    bool
	}{
		{"complete", "application/json", benchAnswer, false},
		{"stream", "text/event-stream", benchStream, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", tc.contentType)
				io.WriteString(w, tc.answer)
			}))
			defer srv.Close()
			c, err := New(Options{BaseURL: srv.URL, Model: "m"})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := benchRequest()
			body, _ := json.Marshal(c.buildRequest(req, tc.stream))
			url := srv.URL + "/v1/chat/completions"
			bare := func() time.Duration {
				start := time.Now()
				resp, err := http.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return time.Since(start)
			}
			client := func() time.Duration {
				start := time.Now()
				var err error
				if tc.stream {
					_, err = llm.CompleteFromStream(c.Stream(context.Background(), req))
				} else {
					_, err = c.Complete(context.Background(), req)
				}
				if err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			for range 50 { // warm both connection pools
				bare()
				client()
			}
			var bareD, clientD []time.Duration
			for b.Loop() {
				bareD = append(bareD, bare())
				clientD = append(clientD, client())
			}
			pb, pc := median(bareD), median(clientD)
			b.ReportMetric(us(pb), "bare-p50-µs")
			b.ReportMetric(us(pc), "client-p50-µs")
			b.ReportMetric(us(pc-pb), "overhead-p50-µs")
			b.ReportMetric(100*float64(pc-pb)/float64(pb), "overhead-p50-%")
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
