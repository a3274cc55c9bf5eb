package sse

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// MaxLine bounds one SSE line and one event's data. Servers put a whole
// chunk on one line; a tool call writing a large file can make it
// megabytes long, but never this long.
const MaxLine = 64 << 20

// BufferSize is the read buffer of an SSE body. Callers that peek at a
// body with [IsEventStream] wrap it in a bufio.Reader of this size, which
// [NewReader] then reads through without a second buffer.
const BufferSize = 64 << 10

// LimitError reports a line or an event longer than the reader allows.
type LimitError struct {
	What  string // "line" or "event data"
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("SSE %s longer than %d MiB", e.What, e.Limit>>20)
}

// Event is one dispatched server-sent event.
type Event struct {
	Name string // the event: field, if any
	Data []byte // the data: lines joined by "\n"
}

// Reader reads server-sent events as the spec describes them, and as
// servers really send them: lines end in LF, CRLF or CR (a CR at the end
// of one read and the LF at the start of the next are one line end);
// "data:" may or may not be followed by a space; comment lines (": ping")
// and id and retry fields are skipped; several data lines join with "\n";
// an event still open at the end of the body is dispatched; a line that
// starts with "{" is taken as data (servers that leave out "data:").
// Lines are not limited to 64 KiB as with bufio.Scanner, only to
// [MaxLine].
type Reader struct {
	r       *bufio.Reader
	maxLine int
	skipLF  bool // the last line ended in CR: a following LF belongs to it
	line    []byte
	data    []byte
	hasData bool
	name    string
}

// NewReader returns a reader of the events in r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, BufferSize), maxLine: MaxLine}
}

// Next returns the next event, or io.EOF at the end of the body. A line
// or an event over the limit is a *[LimitError]; other errors are the
// body's. Its data is valid until the following call.
func (s *Reader) Next() (Event, error) {
	for {
		line, err := s.readLine()
		if err == io.EOF {
			if s.hasData {
				return s.dispatch(), nil
			}
			return Event{}, io.EOF
		}
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if s.hasData {
				return s.dispatch(), nil
			}
			s.name = ""
			continue
		}
		if line[0] == ':' {
			continue // a comment: keep-alive pings
		}
		field, value := line, []byte(nil)
		if line[0] == '{' {
			// Tolerance: a JSON line without "data:".
			field, value = []byte("data"), line
		} else if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if len(s.data)+len(value)+1 > s.maxLine {
				return Event{}, &LimitError{"event data", s.maxLine}
			}
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			s.hasData = true
		case "event":
			s.name = string(value)
		}
	}
}

func (s *Reader) dispatch() Event {
	ev := Event{Name: s.name, Data: s.data}
	s.data, s.hasData, s.name = s.data[:0:0], false, ""
	return ev
}

// readLine returns the next line without its terminator. The line is
// valid until the next call. It returns io.EOF only when no bytes are
// left; a last line without a terminator is returned as a line.
func (s *Reader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		if _, err := s.r.Peek(1); err != nil {
			if err == io.EOF && len(s.line) > 0 {
				return s.line, nil
			}
			return nil, err
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			if len(s.line)+len(buf) > s.maxLine {
				return nil, &LimitError{"line", s.maxLine}
			}
			s.line = append(s.line, buf...)
			s.r.Discard(len(buf))
			continue
		}
		if len(s.line)+i > s.maxLine {
			return nil, &LimitError{"line", s.maxLine}
		}
		s.line = append(s.line, buf[:i]...)
		s.skipLF = buf[i] == '\r'
		s.r.Discard(i + 1)
		return s.line, nil
	}
}
