package remote

import (
	"context"
	"iter"

	"github.com/tetherllm/tether/internal/anthropic"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/openai"
)

// Driver is a remote server as an [llm.Driver]: an OpenAI-compatible
// server ([Dial]) or one that speaks Anthropic's Messages API
// ([DialAnthropic]). Every connection it opens has passed its privacy
// tier; its requests are bounded by its timeouts and retried while no
// answer has begun.
//
// A stream that fails after the caller has received events ends with an
// *llm.InterruptedError, which is never retryable: sending the request
// again would show the caller the same text twice. A failure before the
// first event keeps its own type (a transport error, say, which a
// router may retry or fall back from).
type Driver struct {
	api  llm.Driver
	info llm.Info
}

var _ llm.Driver = (*Driver)(nil)

// Complete sends the request and returns the whole answer.
func (d *Driver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return d.api.Complete(ctx, req)
}

// Stream sends the request and yields its events as they arrive; see
// [llm.Driver.Stream].
func (d *Driver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return func(yield func(llm.Event, error) bool) {
		events := 0
		for ev, err := range d.api.Stream(ctx, req) {
			if err != nil {
				if events > 0 && ctx.Err() == nil {
					err = &llm.InterruptedError{Events: events, Err: err}
				}
				yield(llm.Event{}, err)
				return
			}
			events++
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Info describes the model and the server.
func (d *Driver) Info() llm.Info { return d.info }

// Close releases idle connections; the server keeps running.
func (d *Driver) Close() error { return d.api.Close() }

// Models lists the ids of the models the server offers, through the
// driver's checked transport (for `tether doctor` and for callers that
// dialed with SkipModelCheck).
func (d *Driver) Models(ctx context.Context) ([]string, error) {
	var ids []string
	switch c := d.api.(type) {
	case *openai.Client:
		models, err := c.Models(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range models {
			ids = append(ids, m.ID)
		}
	case *anthropic.Client:
		models, err := c.Models(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range models {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
