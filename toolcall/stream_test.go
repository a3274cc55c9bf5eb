package toolcall

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func streamCorpus() []string {
	fixed := []string{
		"", "plain answer",
		"Before text\n<tool_call>\n{\"name\": \"file_read\", \"input\": {\"path\": \"a\"}}\n</tool_call>\nAfter text",
		"<tool_call>{\"name\":\"a\"}</tool_call>\nMiddle\n<tool_call>{\"name\":\"b\",\"arguments\":\"{\\\"x\\\":1}\"}</tool_call>",
		"<tool_call>\n{not valid json}\n</tool_call> then <tool_call>{\"name\":\"c\"}",
		"Config:\n```json\n{\"key\": \"value\"}\n```\n```json\n{\"name\":\"d\",\"input\":{\"s\":\"```\"}}\n```",
		"<tool_call>{\"name\":\"e\",\"input\":{\"content\":\"</tool_call><tool_call>\"}}</tool_call>",
		"<tool_call>{oops\n<tool_call>{\"name\":\"a\"}</tool_call>",
		"<tool_call>{\"name\":\"a\"}\n<tool_call>{\"name\":\"b\"}",
		"<tool_call>{\"name\":\"a\"}\nDone.", "x <tool_ca", "x ```js", "<tool_call>{\"name\":\"a\"} </tool_cal",
		"<tool_call>   ", "<tool_call>{\"name\":\"a\",\"input\":{\"s\":\"\\\"}\"}}</tool_call>\u3000",
		"<tool_call>{\"a\":[}</tool_call>", "<tool_call>{\"name\":\"a\"}}</tool_call>",
	}
	pieces := []string{
		callOpen, callClose, fenceOpen, fenceClose, "<tool", "</tool_c", "```", "`", "{", "}", "[", "]",
		`"name"`, `"input"`, `"arguments"`, ":", ",", `"a"`, `"x\"y"`, "\\", `"`, "1", "null",
		`{"name":"f","input":{"k":"v"}}`, `{"name":"g","arguments":"{}"}`, " ", "\n", "\u3000", "\xe3", "\xff", "text", "<",
	}
	r := rand.New(rand.NewPCG(5, 6))
	out := fixed
	for range 3000 {
		var b strings.Builder
		for range r.IntN(14) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out = append(out, b.String())
	}
	return out
}

func chunk(r *rand.Rand, s string) []string {
	var out []string
	for s != "" {
		n := 1 + r.IntN(min(len(s), 1+r.IntN(12)))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// checkStreamAgrees runs a Stream over chunks and compares it with Parse on
// the whole.
func checkStreamAgrees(t *testing.T, chunks []string) {
	t.Helper()
	whole := strings.Join(chunks, "")
	wantRest, wantCalls := Parse(whole, nil)
	p := NewStream(nil)
	var items []Item
	for _, c := range chunks {
		items = append(items, p.Push(c)...)
	}
	items = append(items, p.Flush()...)
	var text strings.Builder
	var calls int
	for _, it := range items {
		switch {
		case it.Call != nil && it.Text != "":
			t.Fatalf("item with both text and call: %+v", it)
		case it.Call != nil:
			if calls >= len(wantCalls) {
				t.Fatalf("chunks %q: extra call %+v", chunks, *it.Call)
			}
			w := wantCalls[calls]
			if it.Call.ID != w.ID || it.Call.Name != w.Name || string(it.Call.Input) != string(w.Input) {
				t.Fatalf("chunks %q: call %d = %+v, want %+v", chunks, calls, *it.Call, w)
			}
			calls++
		case it.Text == "":
			t.Fatalf("empty item")
		default:
			text.WriteString(it.Text)
		}
	}
	if calls != len(wantCalls) {
		t.Fatalf("chunks %q: %d calls, want %d", chunks, calls, len(wantCalls))
	}
	if text.String() != wantRest {
		t.Fatalf("chunks %q: text %q, want %q", chunks, text.String(), wantRest)
	}
}

func TestStreamAgreesWithParse(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range streamCorpus() {
		checkStreamAgrees(t, []string{s})
		checkStreamAgrees(t, strings.Split(s, ""))
		for range 6 {
			checkStreamAgrees(t, chunk(r, s))
		}
	}
}

// Text is emitted as soon as it is certain, and a call as soon as its
// block closes.
func TestStreamEmitsEarly(t *testing.T) {
	p := NewStream(nil)
	steps := []struct {
		in   string
		want string // items rendered as text or [name]
	}{
		{"Let me check. <tool", "Let me check."},
		{"_call>\n{\"name\":\"glob\",", ""},
		{"\"input\":{\"pattern\":\"*\"}}\n</tool_call>", "[glob]"},
		{"\nDone", " \nDone"}, // the space held after "check."
	}
	for _, st := range steps {
		var got strings.Builder
		for _, it := range p.Push(st.in) {
			if it.Call != nil {
				got.WriteString("[" + it.Call.Name + "]")
			} else {
				got.WriteString(it.Text)
			}
		}
		if got.String() != st.want {
			t.Fatalf("Push(%q) gave %q, want %q", st.in, got.String(), st.want)
		}
	}
}

// A large call arriving a few bytes at a time is parsed in linear time.
func TestStreamLargeCall(t *testing.T) {
	content := strings.Repeat("line of a big file with a </tool_call> in it\\n", 20000)
	s := "<tool_call>{\"name\":\"file_write\",\"input\":{\"content\":\"" + content + "\"}}</tool_call>"
	p := NewStream(nil)
	var calls int
	for i := 0; i < len(s); i += 3 {
		for _, it := range p.Push(s[i:min(i+3, len(s))]) {
			if it.Call != nil {
				calls++
			}
		}
	}
	if p.Flush(); calls != 1 {
		t.Fatalf("got %d calls, want 1", calls)
	}
}

func FuzzStream(f *testing.F) {
	for _, s := range streamCorpus()[:40] {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, s string, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		checkStreamAgrees(t, chunk(r, s))
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range streamCorpus()[:40] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rest, calls := Parse(s, nil)
		if len(rest) > len(s) {
			t.Fatalf("rest longer than input")
		}
		for _, c := range calls {
			// Every call renders and parses back to itself.
			_, again := Parse(RenderCall(c), nil)
			if len(again) != 1 || again[0].Name != c.Name || string(again[0].Input) != string(c.Input) {
				t.Fatalf("call %+v does not round-trip: %+v", c, again)
			}
		}
	})
}
