package anthropic

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// maxSSELine bounds one line and one event's data: a tool call writing a
// large file can make an event megabytes long, never this long.
const maxSSELine = 64 << 20

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	name string // the event: field, if any
	data []byte // the data: lines joined by "\n"
}

// sseReader reads server-sent events: lines end in LF or CRLF, "data:"
// may or may not be followed by a space, comments (": ping") and id and
// retry fields are skipped, several data lines join with "\n", and an
// event still open at the end of the body is dispatched.
type sseReader struct {
	r    *bufio.Reader
	max  int
	data []byte
	has  bool
	name string
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), max: maxSSELine}
}

// next returns the next event, or io.EOF at the end of the body.
func (s *sseReader) next() (sseEvent, error) {
	for {
		line, err := s.line()
		if err == io.EOF {
			if s.has {
				return s.dispatch(), nil
			}
			return sseEvent{}, io.EOF
		}
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if s.has {
				return s.dispatch(), nil
			}
			s.name = ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "data":
			if len(s.data)+len(value)+1 > s.max {
				return sseEvent{}, &sseLimitError{s.max}
			}
			if s.has {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			s.has = true
		case "event":
			s.name = string(value)
		}
	}
}

func (s *sseReader) dispatch() sseEvent {
	ev := sseEvent{name: s.name, data: s.data}
	s.data, s.has, s.name = nil, false, ""
	return ev
}

// line reads one line without its end. A last line without an end is a
// line; io.EOF comes only when nothing is left.
func (s *sseReader) line() ([]byte, error) {
	var line []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(line)+len(chunk) > s.max {
			return nil, &sseLimitError{s.max}
		}
		line = append(line, chunk...)
		switch err {
		case nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(line) > 0 {
				return bytes.TrimRight(line, "\r\n"), nil
			}
		}
		return nil, err
	}
}

// sseLimitError reports a line or an event longer than the reader allows.
type sseLimitError struct{ limit int }

func (e *sseLimitError) Error() string {
	return fmt.Sprintf("SSE line or event longer than %d MiB", e.limit>>20)
}
