package agent

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"*.go", "a.go", true},
		{"*.go", "src/a.go", false},
		{"**/*.go", "a.go", true},
		{"**/*.go", "src/x/a.go", true},
		{"src/**", "src/x/a.go", true},
		{"src/**", "src", true},
		{"src/**/a.go", "src/a.go", true},
		{"src/**/a.go", "src/p/q/a.go", true},
		{"src/**/a.go", "lib/a.go", false},
		{"**", "a/b/c", true},
		{"**/**/*_test.go", "x/y_test.go", true},
		{"cmd/*/main.go", "cmd/tether/main.go", true},
		{"cmd/*/main.go", "cmd/a/b/main.go", false},
		{"./*.md", "README.md", true},
		{"?.txt", "ab.txt", false},
		{"[ab].txt", "b.txt", true},
	} {
		g, err := compileGlob(c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := g.match(c.name); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	for _, bad := range []string{"[", "a/[x", "/abs/*", "", "."} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q) accepted", bad)
		}
	}
}

func TestListFiles(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	for _, f := range []string{"main.go", "README.md", "src/a.go", "src/b_test.go", "src/deep/c.go", ".git/HEAD", "node_modules/x/i.js", "web/node_modules/y.go"} {
		s.write(t, f, "x\n")
	}
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{}, "README.md\nmain.go\nsrc/a.go\nsrc/b_test.go\nsrc/deep/c.go\n"},
		{map[string]any{"pattern": "*.go"}, "main.go\n"},
		{map[string]any{"pattern": "**/*.go"}, "main.go\nsrc/a.go\nsrc/b_test.go\nsrc/deep/c.go\n"},
		{map[string]any{"pattern": "**/*_test.go"}, "src/b_test.go\n"},
		{map[string]any{"pattern": "*.go", "path": "src"}, "src/a.go\nsrc/b_test.go\n"},
		{map[string]any{"path": "src/deep"}, "src/deep/c.go\n"},
		// Asked for by path, the skipped directories are listed.
		{map[string]any{"path": ".git"}, ".git/HEAD\n"},
	} {
		out, err := s.run(t, "list_files", c.in)
		if err != nil || out != c.want {
			t.Errorf("list_files %v = %q, %v; want %q", c.in, out, err, c.want)
		}
	}
	if out, err := s.run(t, "list_files", map[string]any{"pattern": "*.rs"}); err != nil || !strings.HasPrefix(out, "no files match") {
		t.Errorf("no match: %q, %v", out, err)
	}
	if _, err := s.run(t, "list_files", map[string]any{"pattern": "[a"}); err == nil {
		t.Error("bad pattern accepted")
	}
	if _, err := s.run(t, "list_files", map[string]any{"path": "missing"}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing path: %v", err)
	}
}

func TestListFilesBound(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	for i := range listMaxFiles + 5 {
		s.write(t, fmt.Sprintf("d%d/f%04d.txt", i%7, i), "")
	}
	out, err := s.run(t, "list_files", map[string]any{"pattern": "**/*.txt"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != listMaxFiles+1 || !strings.Contains(lines[listMaxFiles], fmt.Sprintf("%d of %d files", listMaxFiles, listMaxFiles+5)) {
		t.Fatalf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if lines[0] != "d0/f0000.txt" || lines[1] != "d0/f0007.txt" {
		t.Fatalf("not sorted: %q", lines[:2])
	}
}

func TestGrep(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "a.go", "package a\n\nfunc Alpha() {}\n")
	s.write(t, "sub/b.go", "package sub\n// alpha here\nfunc Beta() {}\n")
	s.write(t, "sub/notes.md", "Alpha in docs\n")
	s.write(t, "bin.dat", "Alpha\x00binary")
	s.write(t, ".git/config", "Alpha\n")
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"pattern": "Alpha"}, "a.go:3: func Alpha() {}\nsub/notes.md:1: Alpha in docs\n"},
		{map[string]any{"pattern": "(?i)alpha", "glob": "*.go"}, "a.go:3: func Alpha() {}\nsub/b.go:2: // alpha here\n"},
		{map[string]any{"pattern": "^package", "path": "sub"}, "sub/b.go:1: package sub\n"},
		{map[string]any{"pattern": "^package", "glob": "sub/*.go"}, "sub/b.go:1: package sub\n"},
		{map[string]any{"pattern": "func", "path": "sub/b.go"}, "sub/b.go:3: func Beta() {}\n"},
	} {
		out, err := s.run(t, "grep", c.in)
		if err != nil || out != c.want {
			t.Errorf("grep %v = %q, %v; want %q", c.in, out, err, c.want)
		}
	}
	if out, err := s.run(t, "grep", map[string]any{"pattern": "Gamma"}); err != nil || !strings.HasPrefix(out, "no matches") {
		t.Errorf("no match: %q, %v", out, err)
	}
	if _, err := s.run(t, "grep", map[string]any{"pattern": "(unclosed"}); err == nil || !strings.Contains(err.Error(), "bad pattern") {
		t.Errorf("bad regexp: %v", err)
	}
	if _, err := s.run(t, "grep", map[string]any{"pattern": ""}); err == nil {
		t.Error("empty pattern accepted")
	}
}

func TestGrepBounds(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "many.txt", strings.Repeat("hit\n", grepMaxMatches+50))
	out, err := s.run(t, "grep", map[string]any{"pattern": "hit"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != grepMaxMatches+1 || !strings.Contains(lines[grepMaxMatches], "stopped after") {
		t.Fatalf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	// A long line is shown cut; a match far into a longer-than-scanned
	// line is not found, and neither costs unbounded memory.
	s.write(t, "wide.txt", strings.Repeat("x", 5000)+"needle\n"+strings.Repeat("y", grepScanLine+10)+"pin\n")
	out, err = s.run(t, "grep", map[string]any{"pattern": "needle|pin", "path": "wide.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "wide.txt:1: xxx") || len(out) > grepMaxLine+50 || strings.Contains(out, "wide.txt:2") {
		t.Fatalf("got %d bytes: %.80q", len(out), out)
	}
}

func TestGrepSkipsUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads everything")
	}
	s := newSandbox(t, ToolOptions{})
	s.write(t, "ok.txt", "findme\n")
	s.write(t, "locked.txt", "findme\n")
	if err := os.Chmod(filepath.Join(s.dir, "locked.txt"), 0); err != nil {
		t.Fatal(err)
	}
	out, err := s.run(t, "grep", map[string]any{"pattern": "findme"})
	if err != nil || out != "ok.txt:1: findme\n" {
		t.Fatalf("%q, %v", out, err)
	}
}

// TestGlobManyStars is a pattern that makes naive "**" backtracking try
// every way of splitting a deep path; it must finish at once.
func TestGlobManyStars(t *testing.T) {
	g, err := compileGlob(strings.Repeat("**/x/", 20) + "y")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("x/", 40) + "z"
	if g.match(name) {
		t.Fatal("matched a name that does not end in y")
	}
	if !g.match(strings.Repeat("x/", 40) + "y") {
		t.Fatal("did not match")
	}
}

// naiveMatch is the plain recursive reading of the glob rules, the
// reference the table-driven match is checked against.
func naiveMatch(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := range len(name) + 1 {
			if naiveMatch(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], name[0])
	return ok && naiveMatch(pat[1:], name[1:])
}

func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"**/*.go", "a/b.go"}, {"src/**/a.go", "src/a.go"}, {"**", "x"}, {"[a-", "a"},
		{"*/**/?", "a/b/c"}, {"./x/../y", "y"}, {"**/**", "a/b"}, {"a\\*", "a*"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		g, err := compileGlob(pattern)
		if err != nil || strings.Count(pattern, "/") > 8 || strings.Count(name, "/") > 8 {
			return
		}
		if got, want := g.match(name), naiveMatch(g, strings.Split(name, "/")); got != want {
			t.Fatalf("%q matches %q = %v, the reference says %v", pattern, name, got, want)
		}
	})
}
