package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type event struct{ name, data string }

func readAll(r io.Reader, maxLine int) ([]event, error) {
	s := NewReader(r)
	if maxLine > 0 {
		s.maxLine = maxLine
	}
	var out []event
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, event{ev.Name, string(ev.Data)})
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []event
	}{
		{"data with and without space", "data: a\n\ndata:b\n\n", []event{{"", "a"}, {"", "b"}}},
		{"comments and pings", ": ping\n\n:\ndata: x\n: inside\n\n", []event{{"", "x"}}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []event{{"", "a"}, {"", "b"}}},
		{"CR", "data: a\r\rdata: b\r\r", []event{{"", "a"}, {"", "b"}}},
		{"mixed line ends", "data: a\r\ndata: b\n\rdata: c\r\n\n", []event{{"", "a\nb"}, {"", "c"}}},
		{"multi-line data", "data: {\"a\":\ndata:  1}\n\n", []event{{"", "{\"a\":\n 1}"}}},
		{"event and id fields", "event: error\nid: 3\nretry: 10\ndata: boom\n\n", []event{{"error", "boom"}}},
		{"event name resets", "event: x\n\ndata: y\n\n", []event{{"", "y"}}},
		{"last event without blank line", "data: a\n\ndata: [DONE]", []event{{"", "a"}, {"", "[DONE]"}}},
		{"empty data line", "data\n\n", []event{{"", ""}}},
		{"bare JSON line", "{\"x\":1}\n\n", []event{{"", "{\"x\":1}"}}},
		{"unknown field ignored", "foo: bar\ndata: z\n\n", []event{{"", "z"}}},
		{"only one space removed", "data:  two\n\n", []event{{"", " two"}}},
		{"UTF-8 kept whole", "data: naïve ✓ 日本\n\n", []event{{"", "naïve ✓ 日本"}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in)), iotest.HalfReader(strings.NewReader(tt.in))} {
				got, err := readAll(r, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Fatalf("got %q, want %q", got, tt.want)
					}
				}
			}
		})
	}
}

func TestSSELimits(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100) + "\n\n"
	_, err := readAll(strings.NewReader(long), 64)
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("over-long line: %v", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 5) + "\n"
	if _, err := readAll(strings.NewReader(many), 64); !errors.As(err, &le) {
		t.Fatalf("over-long event: %v", err)
	}
	// A line of several megabytes is fine.
	big := "data: " + strings.Repeat("y", 5<<20) + "\n\n"
	got, err := readAll(iotest.HalfReader(strings.NewReader(big)), 0)
	if err != nil || len(got) != 1 || len(got[0].data) != 5<<20 {
		t.Fatalf("5 MiB line: %d events, %v", len(got), err)
	}
}

// A read error other than the end of the body is returned.
func TestSSEReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(errors.New("reset")))
	got, err := readAll(r, 0)
	if err == nil || err.Error() != "reset" || len(got) != 1 {
		t.Fatalf("got %q %v", got, err)
	}
}

func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "data: a\r\n\r\ndata:b\r\r", ": ping\nevent: e\ndata: {\"x\":\n data: 1}\n\n", "data: [DONE]", "\r\n\r", "{\"a\":1}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		whole, err1 := readAll(strings.NewReader(s), 256)
		bytewise, err2 := readAll(iotest.OneByteReader(strings.NewReader(s)), 256)
		if (err1 == nil) != (err2 == nil) || len(whole) != len(bytewise) {
			t.Fatalf("reads differ by chunking: %q %v / %q %v", whole, err1, bytewise, err2)
		}
		for i := range whole {
			if whole[i] != bytewise[i] {
				t.Fatalf("event %d differs: %q / %q", i, whole[i], bytewise[i])
			}
			if strings.ContainsAny(whole[i].data, "\r") {
				t.Fatalf("data keeps a CR: %q", whole[i].data)
			}
		}
	})
}
