package router

import (
	"errors"
	"net/http"

	"github.com/tetherllm/tether/llm"
)

// ShouldFallback reports whether a driver's failure lets the router try
// the next driver: the request never reached a working server
// (connection refused or broken, a server that exited, did not start or
// is not installed, an address the privacy tier refused before
// connecting), the server is overloaded or rate limiting (429, 503), it
// does not have the model (404, a model it does not list, a bad or
// missing model file), or the prompt does not fit its context window. A bad request, an
// authentication failure, any other 4xx, an answer that cannot be
// understood and a closed driver are the caller's to see: another server
// would refuse them too, or the router would hide a configuration error.
//
// The caller's own cancellation is not checked here; the router stops on
// it before asking.
func ShouldFallback(err error) bool {
	if err == nil {
		return false
	}
	var (
		transport *llm.TransportError
		limited   *llm.RateLimitedError
		overflow  *llm.ContextOverflowError
		exited    *llm.ServerExitedError
		startup   *llm.StartupTimeoutError
		missing   *llm.BinaryNotFoundError
		modelFile *llm.ModelFileError
		status    *llm.HTTPError
		request   *llm.RequestError
		unlisted  *llm.ModelNotFoundError
		refused   *llm.PrivacyError
	)
	switch {
	case errors.As(err, &request), errors.Is(err, llm.ErrClosed):
		return false
	case errors.As(err, &transport), errors.As(err, &limited), errors.As(err, &overflow),
		errors.As(err, &exited), errors.As(err, &startup), errors.As(err, &missing), errors.As(err, &modelFile),
		errors.As(err, &unlisted), errors.As(err, &refused):
		return true
	case errors.As(err, &status):
		switch c := status.StatusCode; {
		case c == http.StatusNotFound, c == http.StatusRequestTimeout, c == http.StatusTooManyRequests:
			return true
		case c >= 500:
			return true
		}
	}
	return false
}
