package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/tetherllm/tether/llm"
)

// errTimeout is the cause of a request's context when its timeout ends
// it.
var errTimeout = errors.New("request timeout")

// WithTimeout bounds a request by a client's timeout; 0 means no bound
// beyond ctx.
func WithTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeoutCause(ctx, timeout, errTimeout)
	}
	return context.WithCancel(ctx)
}

// AbortError turns a failure during a request into the error the caller
// sees: the caller's own context error if parent ended, a transport error
// for op if the timeout of ctx (from [WithTimeout]) ran out, else err.
func AbortError(parent, ctx context.Context, timeout time.Duration, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		return perr
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		return &llm.TransportError{Op: op, Err: fmt.Errorf("no complete answer within %s", timeout)}
	}
	return err
}

// TransportError wraps a failure to send or read a request. A privacy
// refusal is returned as it is: it is no transport failure, and must not
// read as a retryable one.
func TransportError(op string, err error) error {
	var pe *llm.PrivacyError
	if errors.As(err, &pe) {
		return pe
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &llm.TransportError{Op: op, Err: err}
}

// maxErrorBody bounds how much of a non-success answer is read.
const maxErrorBody = 1 << 20

// Do sends hreq, whose context is ctx, a [WithTimeout] child of parent.
// A failure to send becomes an [AbortError]; a non-success answer
// becomes statusError's error for its status, header and (at most
// 1 MiB of) body, unless parent ended meanwhile.
func Do(parent, ctx context.Context, client *http.Client, timeout time.Duration, hreq *http.Request,
	statusError func(status int, header http.Header, body []byte) error) (*http.Response, error) {
	op := hreq.Method + " " + hreq.URL.String()
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, AbortError(parent, ctx, timeout, op, TransportError(op, err))
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if perr := parent.Err(); perr != nil {
			return nil, perr
		}
		return nil, statusError(resp.StatusCode, resp.Header, data)
	}
	return resp, nil
}
