package serve

import (
	"context"
	"errors"
	"time"

	"github.com/tetherllm/tether/llm"
)

// generationLog records one answer's generation in the request log and
// the metrics, whatever API shapes the answer.
type generationLog struct {
	s     *Server
	sw    *statusWriter
	start time.Time
	first bool // the first output has been seen
}

// sawOutput notes the first output, for the time-to-first-token metric.
func (g *generationLog) sawOutput() {
	if !g.first {
		g.first = true
		g.s.metrics.firstToken(time.Since(g.start))
	}
}

// ended records a generation's end: resp when it finished, or err. It
// reports whether err is the client's cancellation, which has no answer.
func (g *generationLog) ended(ctx context.Context, resp *llm.Response, err error) (cancelled bool) {
	if err != nil {
		cancelled = ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		g.s.metrics.generation(g.sw.promptTokens, 0, cancelled)
		return cancelled
	}
	g.sw.generatedTokens = resp.Usage.OutputTokens
	g.s.metrics.generation(resp.Usage.InputTokens, resp.Usage.OutputTokens, false)
	return false
}
