package supervisor

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestOutputLogKeepsWholeLines(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes []struct {
			stream int
			data   string
		}
		want string
	}{
		{
			name: "short output is kept whole",
			size: 64,
			writes: []struct {
				stream int
				data   string
			}{{0, "a\nb\n"}, {1, "c\n"}},
			want: "a\nb\nc\n",
		},
		{
			name: "lines from two streams do not interleave",
			size: 64,
			writes: []struct {
				stream int
				data   string
			}{{0, "out-"}, {1, "err-"}, {0, "line\n"}, {1, "line\n"}},
			want: "out-line\nerr-line\n",
		},
		{
			name: "a wrapped ring drops the cut first line",
			size: 16,
			writes: []struct {
				stream int
				data   string
			}{{0, "first line\nsecond\nthird\n"}},
			want: "second\nthird\n",
		},
		{
			name: "an unfinished line is shown at the end",
			size: 64,
			writes: []struct {
				stream int
				data   string
			}{{0, "done\n"}, {1, "loading 42%"}},
			want: "done\nloading 42%\n",
		},
		{
			name: "a line longer than the ring keeps its end",
			size: 8,
			writes: []struct {
				stream int
				data   string
			}{{0, "0123456789abcdef\n"}},
			want: "9abcdef\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutputLog(tt.size, nil, nil)
			for _, w := range tt.writes {
				o.write(w.stream, []byte(w.data))
			}
			if got := o.Tail(); got != tt.want {
				t.Fatalf("Tail = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOutputLogSinkGetsEverythingInLines(t *testing.T) {
	var sink bytes.Buffer
	o := newOutputLog(64, &sink, nil)
	o.write(0, []byte("partial "))
	o.write(1, []byte("stderr line\n"))
	o.write(0, []byte("stdout line\nlast"))
	o.flush(0)
	want := "stderr line\npartial stdout line\nlast\n"
	if sink.String() != want {
		t.Fatalf("sink = %q, want %q", sink.String(), want)
	}
	if o.Total() != int64(len("partial stderr line\nstdout line\nlast")) {
		t.Fatalf("Total = %d", o.Total())
	}
}

func TestOutputLogSignalsNews(t *testing.T) {
	o := newOutputLog(1024, nil, nil)
	news := func() bool {
		select {
		case <-o.news:
			return true
		default:
			return false
		}
	}
	o.write(0, []byte("x"))
	if news() {
		t.Fatal("the start of a line is news before it ends or grows")
	}
	o.write(0, []byte("y"))
	o.write(0, []byte("z")) // must not block although nobody listens
	if !news() {
		t.Fatal("a growing unfinished line is not news")
	}
	o.write(0, []byte("\n"))
	if !news() {
		t.Fatal("the first line is not news")
	}
	o.write(1, []byte("heartbeat 1 at 12:00:01\n"))
	news()
	for i := range 100 {
		o.write(1, fmt.Appendf(nil, "heartbeat %d at 12:00:%02d\n", i+2, i%60))
		if news() {
			t.Fatalf("heartbeat %d counted as news", i+2)
		}
	}
	o.write(1, []byte("loading 10%\n"))
	if !news() {
		t.Fatal("loading progress is not news")
	}
	o.starting.Store(false)
	o.write(1, []byte("a line never seen\n"))
	if news() {
		t.Fatal("news signalled after start-up")
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in       string
		n, bytes int
		want     string
	}{
		{"a\nb\nc\n", 2, 100, "b\nc"},
		{"a\nb\nc", 5, 100, "a\nb\nc"},
		{"aaaa\nbbbb\ncccc\n", 5, 7, "cccc"},
		{"", 3, 10, ""},
	}
	for _, tt := range tests {
		if got := lastLines(tt.in, tt.n, tt.bytes); got != tt.want {
			t.Errorf("lastLines(%q, %d, %d) = %q, want %q", tt.in, tt.n, tt.bytes, got, tt.want)
		}
	}
}

// FuzzOutputLog checks the ring against the plain concatenation of what was
// written: the tail is a suffix of the committed lines, no longer than the
// ring, and starts at a line boundary once the ring has wrapped.
func FuzzOutputLog(f *testing.F) {
	f.Add(uint8(16), []byte("hello\nworld\n"), []byte("err\n"), uint8(3))
	f.Add(uint8(1), []byte("\n\n\n"), []byte("x"), uint8(0))
	f.Add(uint8(40), []byte(strings.Repeat("line of text\n", 20)), []byte("partial"), uint8(7))
	f.Fuzz(func(t *testing.T, size uint8, out, errOut []byte, chunk uint8) {
		n := int(size%64) + 1
		step := int(chunk%16) + 1
		o := newOutputLog(n, nil, nil)
		var sink bytes.Buffer
		o.sink = &sink
		for i := 0; i < max(len(out), len(errOut)); i += step {
			if i < len(out) {
				o.write(0, out[i:min(i+step, len(out))])
			}
			if i < len(errOut) {
				o.write(1, errOut[i:min(i+step, len(errOut))])
			}
		}
		o.flush(0)
		o.flush(1)
		if o.Total() != int64(len(out)+len(errOut)) {
			t.Fatalf("Total = %d, want %d", o.Total(), len(out)+len(errOut))
		}
		committed := sink.String()
		if len(committed) < len(out)+len(errOut) {
			t.Fatalf("sink lost bytes: %d < %d", len(committed), len(out)+len(errOut))
		}
		o.mu.Lock()
		raw := string(o.buf[:o.w])
		if o.full {
			raw = string(o.buf[o.w:]) + raw
		}
		o.mu.Unlock()
		if !strings.HasSuffix(committed, raw) {
			t.Fatalf("ring %q is not a suffix of what was committed %q", raw, committed)
		}
		if len(raw) > n {
			t.Fatalf("ring holds %d bytes, more than %d", len(raw), n)
		}
		_ = o.Tail()
	})
}

func TestOutputLogAnnouncesReadyLines(t *testing.T) {
	o := newOutputLog(1024, nil, []string{"server is listening on"})
	o.write(1, []byte("srv  log_server_r: request: GET /health 503\n"))
	select {
	case <-o.announced:
		t.Fatal("an ordinary line announced readiness")
	default:
	}
	o.write(1, []byte("main: server is listen"))
	o.write(1, []byte("ing on http://127.0.0.1:8080 - starting the main loop\n"))
	select {
	case <-o.announced:
	default:
		t.Fatal("the ready line, split across reads, was not noticed")
	}
	o.watching.Store(false)
	o.write(1, []byte("main: server is listening on http://127.0.0.1:8080\n"))
	select {
	case <-o.announced:
		t.Fatal("announced after watching stopped")
	default:
	}
}
