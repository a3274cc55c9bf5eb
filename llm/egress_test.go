package llm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEgressErrors(t *testing.T) {
	pe := &PrivacyError{Tier: Sovereign, Host: "gpu.example", Address: "203.0.113.4", Rule: "sovereign allows only loopback addresses and unix sockets"}
	if msg := pe.Error(); !strings.Contains(msg, "sovereign refuses gpu.example (203.0.113.4)") || !strings.Contains(msg, "only loopback") {
		t.Errorf("PrivacyError: %s", msg)
	}
	if Retryable(pe) || Retryable(fmt.Errorf("dial: %w", pe)) {
		t.Error("a privacy refusal is retryable")
	}
	cause := &TransportError{Op: "read stream", Err: &TimeoutError{Phase: "idle", Limit: time.Minute}}
	if !Retryable(cause) || !strings.Contains(cause.Error(), "nothing for 1m0s") {
		t.Errorf("an idle timeout before any event: %v (retryable %v)", cause, Retryable(cause))
	}
	ie := &InterruptedError{Events: 3, Err: cause}
	var te *TimeoutError
	if Retryable(ie) || !errors.As(ie, &te) || te.Phase != "idle" || !strings.Contains(ie.Error(), "after 3 events") {
		t.Errorf("InterruptedError: %v", ie)
	}
	mnf := &ModelNotFoundError{Model: "gpt-5", Endpoint: "http://h", Available: []string{"a", "b"}}
	if Retryable(mnf) || !strings.Contains(mnf.Error(), `"gpt-5"; it serves: a, b`) {
		t.Errorf("ModelNotFoundError: %v", mnf)
	}
}
