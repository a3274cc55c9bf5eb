package embedded

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/sample"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/toolcall"
)

// Backend is the name Info reports for this driver.
const Backend = "embedded"

// Options configure a [Driver]. Zero values take the defaults.
type Options struct {
	// Model is the name Info reports; "" means the model file's name
	// without its extension.
	Model string
	// Engine configures the engine that [Open] loads; [New] ignores it.
	Engine engine.Options
	// Sampling supplies the settings a request leaves unset; nil means
	// llama.cpp's defaults ([sample.DefaultParams]).
	Sampling *sample.Params
	// MaxTokens bounds the answer of a request that sets no max_tokens;
	// 0 means no bound but the context window.
	MaxTokens int
	// IDs numbers tool calls; nil makes a fresh source. Calls are unique
	// for the lifetime of the source.
	IDs *toolcall.IDs
}

// Driver runs requests on an engine in this process. It is safe for
// concurrent use: the engine queues requests for its slots in FIFO order.
type Driver struct {
	eng      *engine.Engine
	owns     bool
	model    string
	sampling sample.Params
	maxTok   int
	ids      *toolcall.IDs
	closed   atomic.Bool
}

var _ llm.Driver = (*Driver)(nil)

// Open loads the GGUF model at path and returns a driver that owns it:
// Close releases it.
func Open(path string, opts Options) (*Driver, error) {
	e, err := engine.Load(path, opts.Engine)
	if err != nil {
		return nil, err
	}
	d := New(e, opts)
	d.owns = true
	return d, nil
}

// New returns a driver over an engine loaded by the caller, who keeps
// it: Close does not close the engine.
func New(e *engine.Engine, opts Options) *Driver {
	d := &Driver{eng: e, model: opts.Model, maxTok: max(opts.MaxTokens, 0), ids: opts.IDs}
	if d.model == "" {
		d.model = gguf.ModelName(e.Info().Path)
	}
	if opts.Sampling != nil {
		d.sampling = *opts.Sampling
	} else {
		d.sampling = sample.DefaultParams()
	}
	if d.ids == nil {
		d.ids = toolcall.NewIDs()
	}
	return d
}

// Engine is the engine the driver runs on.
func (d *Driver) Engine() *engine.Engine { return d.eng }

// Info describes the model: its name, the engine's context window, and
// where it runs (in process, sovereign).
func (d *Driver) Info() llm.Info {
	return llm.Info{
		Model:         d.model,
		ContextWindow: d.eng.Info().ContextLength,
		ContextSource: "engine",
		Privacy:       llm.Sovereign,
		Backend:       Backend,
	}
}

// Complete runs one request to the end.
func (d *Driver) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	return llm.CompleteFromStream(d.Stream(ctx, req))
}

// Stream runs one request and yields its events.
func (d *Driver) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Event, error] {
	return d.StreamCall(ctx, Call{Request: req})
}

// StreamCall runs a [Call] and yields its events.
func (d *Driver) StreamCall(ctx context.Context, c Call) iter.Seq2[llm.Event, error] {
	t, err := d.Prepare(c)
	if err != nil {
		return func(yield func(llm.Event, error) bool) { yield(llm.Event{}, err) }
	}
	return t.Stream(ctx)
}

// Close marks the driver closed and, if it loaded the engine itself,
// closes the engine, ending the generations in flight with an error
// wrapping [llm.ErrClosed]. It is safe to call more than once.
func (d *Driver) Close() error {
	if d.closed.Swap(true) || !d.owns {
		return nil
	}
	return d.eng.Close()
}

func (d *Driver) checkOpen() error {
	if d.closed.Load() {
		return errClosed
	}
	return nil
}

// closedError is a call on a closed driver, or a generation its engine's
// closing ended: one message, matching both llm.ErrClosed and
// engine.ErrClosed.
type closedError struct{}

var errClosed error = closedError{}

func (closedError) Error() string { return "embedded: the driver is closed" }

func (closedError) Is(target error) bool {
	return target == llm.ErrClosed || target == engine.ErrClosed
}

// engineError turns the engine's errors into the driver contract's.
func engineError(err error) error {
	if errors.Is(err, engine.ErrClosed) {
		return errClosed
	}
	return err
}
