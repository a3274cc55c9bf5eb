package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetherllm/tether/llm"
)

// StatusError is the llm error of a failed answer whose status and
// message are known (a context overflow is the caller's to recognise
// first): 429 is rate limiting, 503 (llama-server "Loading model") and
// 529 overload, both with the wait header asks for; anything else, 401
// and 403 included, an *llm.HTTPError. A nil header asks for no wait, as
// with an error sent inside a stream.
func StatusError(status int, header http.Header, message string) error {
	switch status {
	case http.StatusTooManyRequests:
		return &llm.RateLimitedError{StatusCode: status, RetryAfter: RetryAfter(header, time.Now()), Message: message}
	case http.StatusServiceUnavailable, 529:
		return &llm.RateLimitedError{StatusCode: status, Overloaded: true, RetryAfter: RetryAfter(header, time.Now()), Message: message}
	}
	return &llm.HTTPError{StatusCode: status, Message: message}
}

// RetryAfter reads how long the server asks the caller to wait:
// retry-after-ms (OpenAI), or Retry-After in seconds or as an HTTP date.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs > 0 && secs <= 1e9) { // NaN too
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Snippet is the start of a body, on one line, for error messages.
func Snippet(body []byte) string {
	const limit = 512
	body = bytes.TrimSpace(body)
	if len(body) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = append(body[:cut:cut], "…"...)
	}
	return strings.Join(strings.Fields(string(body)), " ")
}
