package sse

import (
	"bufio"
	"mime"
	"net/http"
)

// IsEventStream tells an SSE answer from a JSON one: by its content type,
// or, for a server that labels it wrongly (text/plain, none), by its
// first byte that is not white space. It only peeks at body.
func IsEventStream(resp *http.Response, body *bufio.Reader) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "text/event-stream":
		return true
	case "application/json":
		return false
	}
	for i := 0; ; i++ {
		b, err := body.Peek(i + 1)
		if err != nil {
			return false
		}
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return false
		}
		return true
	}
}
