package sse

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestIsEventStream(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    bool
	}{
		{"event-stream type", "text/event-stream; charset=utf-8", `{"a":1}`, true},
		{"JSON type", "application/json", "data: x\n\n", false},
		{"unlabelled stream", "text/plain", "\r\n data: x\n\n", true},
		{"unlabelled object", "", "  \n{\"a\":1}", false},
		{"unlabelled array", "", "[1]", false},
		{"empty body", "", "", false},
		{"only white space", "", " \t\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{}}
			if tt.contentType != "" {
				resp.Header.Set("Content-Type", tt.contentType)
			}
			body := bufio.NewReaderSize(strings.NewReader(tt.body), BufferSize)
			if got := IsEventStream(resp, body); got != tt.want {
				t.Errorf("IsEventStream = %v, want %v", got, tt.want)
			}
			// Only peeked: the whole body is still there to read.
			if rest, _ := io.ReadAll(body); string(rest) != tt.body {
				t.Errorf("body after peeking %q, want %q", rest, tt.body)
			}
		})
	}
}
