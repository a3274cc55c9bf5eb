//go:build unix

package agent

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestNamedPipe checks that a named pipe in the workspace is refused or
// skipped rather than opened: opening one blocks until a writer comes,
// which would hang the tool call (and this test).
func TestNamedPipe(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	if err := syscall.Mkfifo(filepath.Join(s.dir, "pipe"), 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	s.write(t, "a.txt", "findme\n")
	if _, err := s.run(t, "read_file", map[string]any{"path": "pipe"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("read_file: %v", err)
	}
	if _, err := s.run(t, "edit_file", map[string]any{"path": "pipe", "old_text": "a", "new_text": "b"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("edit_file: %v", err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": "pipe", "content": "x"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("write_file: %v", err)
	}
	if out, err := s.run(t, "grep", map[string]any{"pattern": "findme"}); err != nil || out != "a.txt:1: findme\n" {
		t.Errorf("grep: %q, %v", out, err)
	}
	if out, err := s.run(t, "list_files", map[string]any{}); err != nil || out != "a.txt\npipe\n" {
		t.Errorf("list_files: %q, %v", out, err)
	}
}
