package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/llm"
)

// generationLog records one answer's generation in the request log and
// the metrics, whatever API shapes the answer.
type generationLog struct {
	s     *Server
	sw    *statusWriter
	start time.Time
	first bool // the first output has been seen
	// generated counts the tokens an answer that reads the engine's
	// tokens itself has seen; turns are those of an answer that runs the
	// driver's turns, which count their own.
	generated int
	turns     []*embedded.Turn
}

// sawOutput notes the first output, for the time-to-first-token metric.
func (g *generationLog) sawOutput() {
	if !g.first {
		g.first = true
		g.s.metrics.firstToken(time.Since(g.start))
	}
}

// ended records a generation's end: resp when it finished, or err with
// the tokens generated until then. It reports whether err is the
// client's cancellation, which has no answer, and returns the error to
// answer with otherwise: a generation the server ended (its shutdown)
// is llm.ErrClosed, which answers 503, not a cancellation.
func (g *generationLog) ended(ctx context.Context, resp *llm.Response, err error) (cancelled bool, _ error) {
	if err != nil {
		generated := g.generated
		for _, t := range g.turns {
			generated += t.Generated()
		}
		g.sw.generatedTokens = generated
		if errors.Is(context.Cause(ctx), errServerShutdown) || errors.Is(err, errServerShutdown) {
			g.s.metrics.generation(g.sw.promptTokens, generated, true)
			return false, fmt.Errorf("%w: %w", llm.ErrClosed, errServerShutdown)
		}
		cancelled = ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		g.s.metrics.generation(g.sw.promptTokens, generated, cancelled)
		return cancelled, err
	}
	g.sw.generatedTokens = resp.Usage.OutputTokens
	g.s.metrics.generation(resp.Usage.InputTokens, resp.Usage.OutputTokens, false)
	return false, nil
}

// errServerShutdown is the cause of the requests the server cancels at
// the end of its shutdown grace period.
var errServerShutdown = errors.New("the server is shutting down")
