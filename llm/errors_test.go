package llm

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false},
		{&HTTPError{StatusCode: 400}, false},
		{&HTTPError{StatusCode: 401}, false},
		{&HTTPError{StatusCode: 404}, false},
		{&HTTPError{StatusCode: 422}, false},
		{&HTTPError{StatusCode: 408}, true},
		{&HTTPError{StatusCode: 429}, true},
		{&HTTPError{StatusCode: 500}, true},
		{&HTTPError{StatusCode: 503}, true},
		{&RateLimitedError{StatusCode: 429, RetryAfter: time.Second}, true},
		{fmt.Errorf("turn 3: %w", &RateLimitedError{StatusCode: 503, Overloaded: true}), true},
		{&TransportError{Op: "POST", Err: errors.New("connection reset")}, true},
		{&ContextOverflowError{Required: 5000, Available: 4096}, false},
		{&ModelFileError{Path: "x.gguf", Reason: "bad magic"}, false},
		{&RequestError{Reason: "no messages"}, false},
		{&ProtocolError{Reason: "not JSON"}, false},
		{&BinaryNotFoundError{Name: "apr", Where: "PATH"}, false},
		{&StartupTimeoutError{Backend: "apr"}, false},
		{&ServerExitedError{DuringStartup: true}, false},
		{&ServerExitedError{DuringStartup: false}, true},
		{errors.New("something else"), false},
	}
	for _, c := range cases {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	err := fmt.Errorf("x: %w", &RateLimitedError{StatusCode: 429, RetryAfter: 3 * time.Second})
	if d, ok := RetryAfter(err); !ok || d != 3*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(&HTTPError{StatusCode: 500}); ok {
		t.Fatal("RetryAfter found a delay in an HTTPError")
	}
}

func TestErrorMessagesNameTheCause(t *testing.T) {
	err := &ServerExitedError{Backend: "llama-server", PID: 42, ExitCode: 1, Cause: CauseOutOfMemory,
		LogTail: "cudaMalloc failed: out of memory\n", DuringStartup: true}
	want := "llama-server (pid 42) exited during startup with exit status 1; cause: out of memory\n" +
		"server output (last lines):\ncudaMalloc failed: out of memory"
	if err.Error() != want {
		t.Fatalf("got %q\nwant %q", err.Error(), want)
	}
	nf := &BinaryNotFoundError{Name: "apr", Where: "PATH", Hint: "cargo install apr-cli"}
	if nf.Error() != "apr not found on PATH; install: cargo install apr-cli" {
		t.Fatalf("got %q", nf.Error())
	}
}

func TestPrivacyTier(t *testing.T) {
	for _, s := range []string{"sovereign", "Sovereign", " PRIVATE ", "standard"} {
		tier, err := ParsePrivacyTier(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		b, _ := tier.MarshalText()
		var back PrivacyTier
		if err := back.UnmarshalText(b); err != nil || back != tier {
			t.Fatalf("%q: round trip gave %v, %v", s, back, err)
		}
	}
	if _, err := ParsePrivacyTier("public"); err == nil {
		t.Fatal("accepted an unknown tier")
	}
	if !Sovereign.Allows(Sovereign) || Sovereign.Allows(Standard) || !Standard.Allows(Private) || Private.Allows(Standard) {
		t.Fatal("Allows gives the wrong order")
	}
}
