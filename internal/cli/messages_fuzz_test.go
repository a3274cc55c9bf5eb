package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMessagesFile reads --messages and --tools files of any content
// the way tether run does: a request that validates, or an error that
// is a bad input file (exit 3) or bad usage (exit 2); never a panic.
func FuzzMessagesFile(f *testing.F) {
	for _, s := range []struct{ messages, tools string }{
		{`[{"role":"user","content":"hi"}]`, ``},
		{`[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"read","arguments":"{\"path\":\"a\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"data"}]`,
			`[{"type":"function","function":{"name":"read","parameters":{"type":"object"}}}]`},
		{`[{"role":"wizard","content":"hi"}]`, ``},
		{`[{"role":"user","content":5}]`, ``},
		{`[]`, `[{"name":"a"},{"name":"a"}]`},
		{`{"role":"user"}`, `[1]`},
		{"[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]", ``},
		{`not json`, ``},
	} {
		f.Add(s.messages, s.tools)
	}
	f.Fuzz(func(t *testing.T, messages, tools string) {
		dir := t.TempDir()
		fl := runFlags{messages: filepath.Join(dir, "messages.json")}
		if err := os.WriteFile(fl.messages, []byte(messages), 0o600); err != nil {
			t.Fatal(err)
		}
		if tools != "" {
			fl.toolsFile = filepath.Join(dir, "tools.json")
			if err := os.WriteFile(fl.toolsFile, []byte(tools), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		req, err := buildRequest(streams{in: strings.NewReader("")}, fl, nil, false)
		if err != nil {
			if code := exitCode(err); code != ExitModel && code != ExitUsage {
				t.Fatalf("error %v has exit status %d, want %d or %d", err, code, ExitModel, ExitUsage)
			}
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("buildRequest accepted a request that does not validate: %v", err)
		}
		if len(req.Messages) == 0 {
			t.Fatal("buildRequest accepted a request without messages")
		}
	})
}
