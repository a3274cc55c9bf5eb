package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadFile(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "src/a.go", "package a\n\nfunc A() {}\n")
	out, err := s.run(t, "read_file", map[string]any{"path": "src/a.go"})
	if err != nil {
		t.Fatal(err)
	}
	want := "     1\tpackage a\n     2\t\n     3\tfunc A() {}\n"
	if out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	// An absolute path inside the workspace names the same file.
	out2, err := s.run(t, "read_file", map[string]any{"path": filepath.Join(s.dir, "src/a.go")})
	if err != nil || out2 != want {
		t.Fatalf("absolute path: %q, %v", out2, err)
	}
	out, err = s.run(t, "read_file", map[string]any{"path": "./src/a.go", "offset": 2, "limit": 1})
	if err != nil || out != "     2\t\n[the file goes on: read_file with offset=3 reads the next part]\n" {
		t.Fatalf("offset/limit: %q, %v", out, err)
	}
	if _, err := s.run(t, "read_file", map[string]any{"path": "src/a.go", "offset": 9}); err == nil || !strings.Contains(err.Error(), "3 lines") {
		t.Errorf("offset past the end: %v", err)
	}
	s.write(t, "crlf.txt", "one\r\ntwo")
	if out, err := s.run(t, "read_file", map[string]any{"path": "crlf.txt"}); err != nil || out != "     1\tone\n     2\ttwo\n" {
		t.Errorf("crlf: %q, %v", out, err)
	}
	s.write(t, "empty.txt", "")
	if out, err := s.run(t, "read_file", map[string]any{"path": "empty.txt"}); err != nil || !strings.Contains(out, "empty") {
		t.Errorf("empty: %q, %v", out, err)
	}
	for name, in := range map[string]map[string]any{
		"missing":   {"path": "nope.go"},
		"directory": {"path": "src"},
	} {
		if _, err := s.run(t, "read_file", in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := s.run(t, "read_file", map[string]any{"path": "nope.go"}); err == nil || err.Error() != "nope.go does not exist" {
		t.Errorf("missing file error = %v", err)
	}
}

func TestReadFileRefusesBinary(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "bin", "ELF\x00\x01\x02")
	_, err := s.run(t, "read_file", map[string]any{"path": "bin"})
	if err == nil || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("binary head: %v", err)
	}
	// A NUL past the sniffed head is caught on its line.
	s.write(t, "late", strings.Repeat("text line\n", 1000)+"x\x00y\n")
	_, err = s.run(t, "read_file", map[string]any{"path": "late"})
	if err == nil || !strings.Contains(err.Error(), "line 1001") {
		t.Fatalf("late NUL: %v", err)
	}
}

func TestReadFileBounds(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	var b strings.Builder
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	s.write(t, "long.txt", b.String())
	out, err := s.run(t, "read_file", map[string]any{"path": "long.txt"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != readMaxLines+1 || lines[readMaxLines-1] != "  2000\tline 2000" || !strings.Contains(lines[readMaxLines], "offset=2001") {
		t.Fatalf("got %d lines ending %q", len(lines), lines[len(lines)-2:])
	}
	// The next page starts where the note says.
	out, err = s.run(t, "read_file", map[string]any{"path": "long.txt", "offset": 4999})
	if err != nil || out != "  4999\tline 4999\n  5000\tline 5000\n" {
		t.Fatalf("last page: %q, %v", out, err)
	}

	// Long lines are cut, and the byte bound holds before the line bound.
	wide := strings.Repeat("é", 3000) // 6000 bytes
	s.write(t, "wide.txt", strings.Repeat(wide+"\n", 200))
	out, err = s.run(t, "read_file", map[string]any{"path": "wide.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > readMaxBytes+200 {
		t.Fatalf("result is %d bytes, bound %d", len(out), readMaxBytes)
	}
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasSuffix(first, "[line cut]") || !strings.Contains(out, "read_file with offset=") {
		t.Fatalf("first line %q…; tail %q", first[:40], out[len(out)-80:])
	}
	if !utf8.ValidString(out) {
		t.Fatal("cut line is not valid UTF-8")
	}
}

func TestWriteFile(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	out, err := s.run(t, "write_file", map[string]any{"path": "deep/er/new.txt", "content": "hello\n"})
	if err != nil || out != "wrote 6 bytes to deep/er/new.txt" {
		t.Fatalf("%q, %v", out, err)
	}
	if got := s.read(t, "deep/er/new.txt"); got != "hello\n" {
		t.Fatalf("content %q", got)
	}
	// Round trip through read_file.
	if out, err := s.run(t, "read_file", map[string]any{"path": "deep/er/new.txt"}); err != nil || out != "     1\thello\n" {
		t.Fatalf("read back %q, %v", out, err)
	}
	// Replacing keeps the mode and leaves no temporary file behind.
	s.write(t, "run.sh", "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(s.dir, "run.sh"), 0o751); err != nil {
		t.Fatal(err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": "run.sh", "content": "#!/bin/sh\necho hi\n"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(s.dir, "run.sh")); err != nil || fi.Mode().Perm() != 0o751 {
		t.Fatalf("mode after replace: %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	// An empty file is a valid content; a missing content is not.
	if _, err := s.run(t, "write_file", map[string]any{"path": "empty", "content": ""}); err != nil || s.read(t, "empty") != "" {
		t.Fatalf("empty content: %v", err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": "x"}); err == nil || !strings.Contains(err.Error(), "content") {
		t.Fatalf("missing content: %v", err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": "deep", "content": "x"}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("directory target: %v", err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": ".", "content": "x"}); err == nil {
		t.Fatal("wrote to the workspace directory itself")
	}
}

func TestWriteThroughLinkInside(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "docs/AGENTS.md", "old\n")
	if err := os.Symlink("docs/AGENTS.md", filepath.Join(s.dir, "CLAUDE.md")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": "CLAUDE.md", "content": "new\n"}); err != nil {
		t.Fatal(err)
	}
	if got := s.read(t, "docs/AGENTS.md"); got != "new\n" {
		t.Fatalf("link target = %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(s.dir, "CLAUDE.md")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	if _, err := s.run(t, "edit_file", map[string]any{"path": "CLAUDE.md", "old_text": "new", "new_text": "edited"}); err != nil {
		t.Fatal(err)
	}
	if got := s.read(t, "docs/AGENTS.md"); got != "edited\n" {
		t.Fatalf("link target after edit = %q", got)
	}
	// A cycle ends in an error, not a hang.
	if err := os.Symlink("loop-b", filepath.Join(s.dir, "loop-a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop-a", filepath.Join(s.dir, "loop-b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.run(t, "write_file", map[string]any{"path": "loop-a", "content": "x"}); err == nil {
		t.Fatal("wrote through a link cycle")
	}
}

func TestEditFile(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "a.go", "x := 1\ny := 1\nz := 2\n")
	out, err := s.run(t, "edit_file", map[string]any{"path": "a.go", "old_text": "z := 2", "new_text": "z := 3"})
	if err != nil || !strings.Contains(out, "replaced 1 occurrence ") {
		t.Fatalf("%q, %v", out, err)
	}
	if got := s.read(t, "a.go"); got != "x := 1\ny := 1\nz := 3\n" {
		t.Fatalf("after edit: %q", got)
	}
	// Ambiguous: the error counts the matches and the file is unchanged.
	_, err = s.run(t, "edit_file", map[string]any{"path": "a.go", "old_text": ":= 1", "new_text": ":= 0"})
	if err == nil || !strings.Contains(err.Error(), "occurs 2 times") {
		t.Fatalf("ambiguous: %v", err)
	}
	if got := s.read(t, "a.go"); got != "x := 1\ny := 1\nz := 3\n" {
		t.Fatalf("ambiguous edit changed the file: %q", got)
	}
	out, err = s.run(t, "edit_file", map[string]any{"path": "a.go", "old_text": ":= 1", "new_text": ":= 0", "replace_all": true})
	if err != nil || !strings.Contains(out, "replaced 2 occurrences") || s.read(t, "a.go") != "x := 0\ny := 0\nz := 3\n" {
		t.Fatalf("replace_all: %q, %v, file %q", out, err, s.read(t, "a.go"))
	}
	// Deleting text with an empty new_text.
	if _, err := s.run(t, "edit_file", map[string]any{"path": "a.go", "old_text": "y := 0\n", "new_text": ""}); err != nil || s.read(t, "a.go") != "x := 0\nz := 3\n" {
		t.Fatalf("delete: %v, %q", err, s.read(t, "a.go"))
	}
	for name, c := range map[string]struct {
		in   map[string]any
		want string
	}{
		"not found":   {map[string]any{"path": "a.go", "old_text": "w := 9", "new_text": "v"}, "not found"},
		"empty old":   {map[string]any{"path": "a.go", "old_text": "", "new_text": "v"}, "old_text is empty"},
		"same text":   {map[string]any{"path": "a.go", "old_text": "x", "new_text": "x"}, "the same"},
		"no new_text": {map[string]any{"path": "a.go", "old_text": "x"}, "new_text is required"},
		"missing":     {map[string]any{"path": "b.go", "old_text": "x", "new_text": "y"}, "does not exist"},
		"directory":   {map[string]any{"path": ".", "old_text": "x", "new_text": "y"}, "directory"},
	} {
		if _, err := s.run(t, "edit_file", c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	s.write(t, "bin", "a\x00b")
	if _, err := s.run(t, "edit_file", map[string]any{"path": "bin", "old_text": "a", "new_text": "c"}); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Errorf("binary: %v", err)
	}
}

func TestEditFileCRLF(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "w.txt", "one\r\ntwo\r\nthree\r\n")
	// The model copies lines as read_file shows them, with "\n" endings.
	if _, err := s.run(t, "edit_file", map[string]any{"path": "w.txt", "old_text": "one\ntwo\n", "new_text": "1\n2\n"}); err != nil {
		t.Fatal(err)
	}
	if got := s.read(t, "w.txt"); got != "1\r\n2\r\nthree\r\n" {
		t.Fatalf("got %q", got)
	}
}
