package supervisor

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// outputLog collects a child's stdout and stderr. It keeps the last size
// bytes of whole lines in a ring buffer and copies the same lines to an
// optional sink, so the child never blocks on a full pipe: reading costs one
// copy into memory and never waits on anything else. Each stream's unfinished
// line is held back until its end arrives, so lines from stdout and stderr do
// not interleave mid-line; a line longer than a quarter of the buffer is let
// through in pieces.
type outputLog struct {
	mu      sync.Mutex
	buf     []byte // ring storage, len(buf) == size
	w       int    // next write position in buf
	full    bool   // buf has wrapped at least once
	pending [2][]byte
	total   int64
	sink    io.Writer
	// newsSeen says whether the chunk being written held news.
	newsSeen bool

	// news receives a value (without blocking) when output shows that
	// start-up is getting somewhere: a line unlike those before it (see
	// newsFilter), or an unfinished line that grows (llama.cpp prints a
	// dot for each step of its load, with no newline until the end).
	// Only while starting is set.
	news     chan struct{}
	starting atomic.Bool
	filter   newsFilter
	// readyLines are phrases that announce readiness; while watching is
	// set, a committed line holding one sends a value on announced.
	readyLines [][]byte
	watching   atomic.Bool
	announced  chan struct{}
}

func newOutputLog(size int, sink io.Writer, readyLines []string) *outputLog {
	o := &outputLog{
		buf:       make([]byte, size),
		sink:      sink,
		news:      make(chan struct{}, 1),
		announced: make(chan struct{}, 1),
	}
	for _, l := range readyLines {
		if l != "" {
			o.readyLines = append(o.readyLines, []byte(l))
		}
	}
	o.watching.Store(len(o.readyLines) > 0)
	o.starting.Store(true)
	return o
}

// maxPending is how much of one unfinished line a stream may hold back.
func (o *outputLog) maxPending() int { return max(len(o.buf)/4, 1) }

// write takes a chunk read from stream 0 (stdout) or 1 (stderr).
func (o *outputLog) write(stream int, p []byte) {
	o.mu.Lock()
	o.total += int64(len(p))
	o.newsSeen = false
	if nl := bytes.LastIndexByte(p, '\n'); nl >= 0 {
		if pend := o.pending[stream]; len(pend) > 0 {
			// Finish the held-back line first, in one piece, so that
			// it is matched against readyLines whole.
			first := bytes.IndexByte(p, '\n')
			o.commit(append(pend, p[:first+1]...))
			o.pending[stream] = pend[:0]
			p, nl = p[first+1:], nl-first-1
		}
		if nl >= 0 {
			o.commit(p[:nl+1])
			p = p[nl+1:]
		}
	}
	if len(p) > 0 && len(o.pending[stream]) > 0 {
		// An unfinished line grows. Only from its second piece on: a
		// line may reach us in two writes, its text and then its end.
		o.newsSeen = true
	}
	o.pending[stream] = append(o.pending[stream], p...)
	if len(o.pending[stream]) >= o.maxPending() {
		o.commit(o.pending[stream])
		o.pending[stream] = o.pending[stream][:0]
	}
	news := o.newsSeen && o.starting.Load()
	o.mu.Unlock()
	if news {
		select {
		case o.news <- struct{}{}:
		default:
		}
	}
}

// flush commits a stream's unfinished line, at the end of the stream.
func (o *outputLog) flush(stream int) {
	o.mu.Lock()
	if pend := o.pending[stream]; len(pend) > 0 {
		o.commit(append(pend, '\n'))
		o.pending[stream] = nil
	}
	o.mu.Unlock()
}

// commit appends whole lines to the ring and the sink. o.mu is held.
func (o *outputLog) commit(p []byte) {
	if o.starting.Load() {
		for line := range bytes.Lines(p) {
			if o.filter.isNews(line) {
				o.newsSeen = true
			}
		}
	}
	if o.watching.Load() {
		for _, l := range o.readyLines {
			if bytes.Contains(p, l) {
				select {
				case o.announced <- struct{}{}:
				default:
				}
				break
			}
		}
	}
	if o.sink != nil {
		if _, err := o.sink.Write(p); err != nil {
			o.sink = nil // a broken log file must not stop the draining
		}
	}
	size := len(o.buf)
	if len(p) >= size {
		copy(o.buf, p[len(p)-size:])
		o.w, o.full = 0, true
		return
	}
	n := copy(o.buf[o.w:], p)
	if n < len(p) {
		copy(o.buf, p[n:])
		o.full = true
	}
	o.w += len(p)
	if o.w >= size {
		o.w -= size
		o.full = true
	}
}

// Total is the number of bytes the child has written so far.
func (o *outputLog) Total() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.total
}

// Tail returns the kept output: whole lines only once the ring has wrapped,
// followed by each stream's unfinished line.
func (o *outputLog) Tail() string {
	o.mu.Lock()
	var b strings.Builder
	if o.full {
		tail := append(append([]byte(nil), o.buf[o.w:]...), o.buf[:o.w]...)
		// Drop the first line, which the ring has cut, unless it is
		// the only one.
		if nl := bytes.IndexByte(tail, '\n'); nl >= 0 && nl < len(tail)-1 {
			tail = tail[nl+1:]
		}
		b.Write(tail)
	} else {
		b.Write(o.buf[:o.w])
	}
	for _, pend := range o.pending {
		if len(pend) > 0 {
			b.Write(pend)
			b.WriteByte('\n')
		}
	}
	o.mu.Unlock()
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// drain copies one pipe into the log until the pipe ends or is closed.
func (o *outputLog) drain(stream int, r *os.File) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			o.write(stream, buf[:n])
		}
		if err != nil {
			break
		}
	}
	o.flush(stream)
}

// lastLines returns at most n lines, and at most maxBytes, from the end of
// s.
func lastLines(s string, n, maxBytes int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
		if nl := strings.IndexByte(s, '\n'); nl >= 0 {
			s = s[nl+1:]
		}
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			if n--; n == 0 {
				return strings.ToValidUTF8(s[i+1:], "\uFFFD")
			}
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
