package managed

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/localserver"
	"github.com/tetherllm/tether/llm"
)

// BenchmarkDriverOverhead compares, interleaved in one run against the same
// real server process (the fault server as llama-server, quiet), a managed
// driver's Complete with a bare http.Post of an equivalent body. It
// reports both medians and the driver's overhead at p50.
func BenchmarkDriverOverhead(b *testing.B) {
	dir := b.TempDir()
	fs := faultServer(b)
	script(b, dir, "llama-server", "exec "+fs+` --fault-quiet "$@"`)
	b.Setenv("PATH", dir)
	d, err := Launch(context.Background(), Options{Model: modelGGUF(b, 2048), Backend: "llama-server"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	req := llm.Request{System: "You are terse.", MaxTokens: 64, Messages: []llm.Message{llm.UserMessage("list the Go files")}}
	info := d.Info()
	body, _ := json.Marshal(map[string]any{
		"model": info.Model, "max_tokens": 64, "stream": false,
		"messages": []map[string]string{{"role": "system", "content": "You are terse."}, {"role": "user", "content": "list the Go files"}},
	})
	key := currentLaunch(b, d).APIKey
	httpClient := localserver.LoopbackClient("")
	bare := func() time.Duration {
		start := time.Now()
		hreq, _ := http.NewRequest("POST", info.Address+"/v1/chat/completions", bytes.NewReader(body))
		hreq.Header.Set("Content-Type", "application/json")
		hreq.Header.Set("Authorization", "Bearer "+key)
		resp, err := httpClient.Do(hreq)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("bare POST: %v %v", err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	driver := func() time.Duration {
		start := time.Now()
		if _, err := d.Complete(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for range 50 { // warm both connections
		bare()
		driver()
	}
	var bareT, driverT []time.Duration
	b.ResetTimer()
	for range b.N {
		bareT = append(bareT, bare())
		driverT = append(driverT, driver())
	}
	b.StopTimer()
	p50 := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	pb, pd := p50(bareT), p50(driverT)
	b.ReportMetric(float64(pb.Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(pd.Microseconds()), "driver-p50-µs")
	b.ReportMetric(float64((pd - pb).Microseconds()), "overhead-p50-µs")
	b.ReportMetric(100*float64(pd-pb)/float64(pb), "overhead-%")
}
