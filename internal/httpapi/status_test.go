package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tetherllm/tether/llm"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, header, value string
		want                time.Duration
	}{
		{"seconds", "Retry-After", "30", 30 * time.Second},
		{"fraction", "Retry-After", "1.5", 1500 * time.Millisecond},
		{"date", "Retry-After", now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{"past date", "Retry-After", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"negative", "Retry-After", "-3", 0},
		{"garbage", "Retry-After", "soon", 0},
		{"milliseconds", "Retry-After-Ms", "250", 250 * time.Millisecond},
		{"none", "X", "1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			if got := RetryAfter(h, now); got != tt.want {
				t.Errorf("RetryAfter = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	h := http.Header{"Retry-After": {"7"}}
	var rl *llm.RateLimitedError
	if err := StatusError(429, h, "slow down"); !errors.As(err, &rl) || rl.Overloaded || rl.RetryAfter != 7*time.Second || rl.Message != "slow down" {
		t.Errorf("429: %#v", err)
	}
	for _, status := range []int{503, 529} {
		if err := StatusError(status, h, "busy"); !errors.As(err, &rl) || !rl.Overloaded || rl.RetryAfter != 7*time.Second || rl.StatusCode != status {
			t.Errorf("%d: %#v", status, err)
		}
	}
	if err := StatusError(429, nil, "in a stream"); !errors.As(err, &rl) || rl.RetryAfter != 0 {
		t.Errorf("429 without a header: %#v", err)
	}
	var he *llm.HTTPError
	if err := StatusError(401, h, "bad key"); !errors.As(err, &he) || he.StatusCode != 401 || he.Message != "bad key" {
		t.Errorf("401: %#v", err)
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet([]byte("  an\n error\t body \n")); got != "an error body" {
		t.Errorf("Snippet = %q", got)
	}
	long := strings.Repeat("é", 400) // 800 bytes: the cut falls inside a rune
	got := Snippet([]byte(long))
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > 512+len("…") {
		t.Errorf("Snippet of a long body: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
