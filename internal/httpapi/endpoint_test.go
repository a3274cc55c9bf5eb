package httpapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Endpoint
	}{
		{"http://127.0.0.1:8080", Endpoint{Root: "http://127.0.0.1:8080", APIRoot: "http://127.0.0.1:8080/v1", Local: true}},
		{"http://localhost:8080/v1/", Endpoint{Root: "http://localhost:8080", APIRoot: "http://localhost:8080/v1", Local: true}},
		{"https://api.example.com/proxy", Endpoint{Root: "https://api.example.com/proxy", APIRoot: "https://api.example.com/proxy/v1"}},
		{"unix:///run/tether.sock", Endpoint{Root: "http://localhost", APIRoot: "http://localhost/v1", Socket: "/run/tether.sock", Local: true}},
	}
	for _, tt := range tests {
		got, err := ParseBaseURL(tt.raw)
		if err != nil || got != tt.want {
			t.Errorf("ParseBaseURL(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
	for raw, want := range map[string]string{
		"http://":      "has no host",
		"unix://":      "names no socket path",
		"ftp://host":   "want http://, https:// or unix://",
		"http://[::1":  "base URL",
		"127.0.0.1/v1": "want http://",
	} {
		_, err := ParseBaseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), raw) {
			t.Errorf("ParseBaseURL(%q): error %v, want one naming the URL and saying %q", raw, err, want)
		}
	}
	_, err := ParseBaseURL("http://[::1")
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("a malformed URL's error does not wrap the *url.Error: %v", err)
	}
}

func TestInfo(t *testing.T) {
	got := Info(llm.Info{Model: "m", ContextWindow: 4096}, true)
	if got.Backend != "remote" || got.Privacy != llm.Sovereign || got.ContextSource != "caller" || got.Model != "m" {
		t.Errorf("local defaults: %+v", got)
	}
	got = Info(llm.Info{Backend: "vllm"}, false)
	if got.Backend != "vllm" || got.Privacy != llm.Standard || got.ContextSource != "" {
		t.Errorf("remote defaults: %+v", got)
	}
	if got = Info(llm.Info{Privacy: llm.Standard}, true); got.Privacy != llm.Standard {
		t.Errorf("a caller's privacy is kept: %+v", got)
	}
}
