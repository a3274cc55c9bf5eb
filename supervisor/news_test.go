package supervisor

import (
	"bytes"
	"fmt"
	"testing"
)

// countNews feeds lines to a fresh filter and counts the news.
func countNews(lines []string) int {
	var f newsFilter
	n := 0
	for _, l := range lines {
		if f.isNews([]byte(l)) {
			n++
		}
	}
	return n
}

// Each server's request log, repeated for each probe, is news once.
func TestProbeEchoesAreNewsOnce(t *testing.T) {
	forms := map[string]func(i int) string{
		"llama-server": func(i int) string {
			return fmt.Sprintf("srv  log_server_r: request: GET /health 127.0.0.1 %d\n", 503)
		},
		"faultserver": func(i int) string {
			return fmt.Sprintf("srv  log_server_r: request: GET /health 127.0.0.1:%d 503\n", 40000+i)
		},
		"tether serve": func(i int) string {
			return fmt.Sprintf("time=2026-12-03T12:%02d:%02d.%03dZ level=INFO msg=\"tether serve: request\" method=GET endpoint=/health status=503 ms=%d prompt_tokens=0 generated_tokens=0\n", i/60%60, i%60, i%1000, i%7)
		},
		"vLLM (uvicorn)": func(i int) string {
			return fmt.Sprintf("INFO:     127.0.0.1:%d - \"GET /health HTTP/1.1\" 503 Service Unavailable\n", 50000+i)
		},
		"ollama (gin)": func(i int) string {
			return fmt.Sprintf("[GIN] 2026/12/03 - 12:00:%02d | 200 |   %d.%dµs |       127.0.0.1 | GET      \"/api/version\"\n", i%60, 10+i%90, i%10)
		},
		"heartbeat with a counter": func(i int) string {
			return fmt.Sprintf("still loading (%d s elapsed, pid 4242)\n", i)
		},
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			var lines []string
			for i := range 500 {
				lines = append(lines, form(i))
			}
			if n := countNews(lines); n != 1 {
				t.Fatalf("%d of 500 echoes were news, want 1", n)
			}
		})
	}
}

// A random hexadecimal id is a word with a digit, hence a placeholder,
// unless all its characters happen to be letters (a-f): about 0.3% of
// six-character ids. Such a line is news once more; that is all.
func TestRandomIDsAreRarelyNews(t *testing.T) {
	var lines []string
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("req-%06x done in %dms\n", (0xa3f9c2+i*7919)&0xffffff, i%13))
	}
	if n := countNews(lines); n > 10 {
		t.Fatalf("%d of 1000 lines were news", n)
	}
}

// Loading progress is news each time it rises, whatever else changes.
func TestRisingPercentagesAreNews(t *testing.T) {
	for name, form := range map[string]func(pct int) string{
		"llama.cpp": func(p int) string { return fmt.Sprintf("llama_model_load: loading tensors %3d%%\n", p) },
		"vLLM shards": func(p int) string {
			return fmt.Sprintf("Loading safetensors checkpoint shards:  %d%% Completed | %d/4 [00:%02d<00:09,  1.2s/it]\n", p, p/25, p/10)
		},
		"decimal": func(p int) string { return fmt.Sprintf("progress %d.5%%\n", p) },
	} {
		t.Run(name, func(t *testing.T) {
			var lines []string
			for p := 0; p <= 100; p += 5 {
				lines = append(lines, form(p), form(p)) // each twice
			}
			if n := countNews(lines); n != 21 {
				t.Fatalf("%d news, want 21 (one per rise)", n)
			}
		})
	}
}

func TestLineShape(t *testing.T) {
	same := [][2]string{
		{"a 1 b", "a 22 b"},
		{"at 12:00:01.5", "at 13:59:59.999"},
		{"x  y\tz", "x y z"},
		{"id 3fa85f64-5717-4562-b3fc-2c963f66afa6", "id 9ab8-11-22-c3-deadbeef7"},
	}
	for _, c := range same {
		a, _ := lineShape([]byte(c[0]))
		b, _ := lineShape([]byte(c[1]))
		if a != b {
			t.Errorf("%q and %q have different shapes", c[0], c[1])
		}
	}
	differ := [][2]string{
		{"GET /health", "GET /props"},
		{"loading model", "model loaded"},
		{"a 1 b", "a b"},
	}
	for _, c := range differ {
		a, _ := lineShape([]byte(c[0]))
		b, _ := lineShape([]byte(c[1]))
		if a == b {
			t.Errorf("%q and %q have the same shape", c[0], c[1])
		}
	}
	for line, want := range map[string]float64{
		"loading 40%": 40, "done 12.5% of 80%": 12.5, "no percent": -1, "x86% odd": -1, "100%": 100, "% alone": -1,
	} {
		if _, got := lineShape([]byte(line)); got != want {
			t.Errorf("percentage of %q = %v, want %v", line, got, want)
		}
	}
}

// The filter's memory is bounded; past it, unseen lines still count.
func TestNewsFilterIsBounded(t *testing.T) {
	var f newsFilter
	for i := range 3 * maxShapes {
		line := []byte(fmt.Sprintf("line %s\n", bytes.Repeat([]byte{'a' + byte(i%26)}, 1+i/26)))
		if !f.isNews(line) {
			t.Fatalf("unseen line %d not news", i)
		}
	}
	if len(f.shapes) > maxShapes {
		t.Fatalf("%d shapes kept, limit %d", len(f.shapes), maxShapes)
	}
}

func FuzzLineShape(f *testing.F) {
	for _, s := range []string{"loading 40%", "req-a3f 12:00:01 200", "12.5%", "", "\x00%9.", "a.1%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		shape, pct := lineShape([]byte(line))
		if pct < -1 || pct != pct {
			t.Fatalf("percentage %v", pct)
		}
		// Changing every digit leaves the shape as it is.
		b := []byte(line)
		for i, c := range b {
			if isDigit(c) {
				b[i] = '0' + (c-'0'+3)%10
			}
		}
		if again, _ := lineShape(b); again != shape {
			t.Fatalf("%q and %q have different shapes", line, b)
		}
	})
}
