package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sandbox is a temporary directory holding a workspace ("ws") and, beside
// it, a file the tools must never reach ("secret.txt").
type sandbox struct {
	parent, dir string
	ws          *Workspace
	tools       map[string]Tool
}

func newSandbox(t testing.TB, o ToolOptions) *sandbox {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("top secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := OpenWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	s := &sandbox{parent: parent, dir: dir, ws: ws, tools: map[string]Tool{}}
	for _, tool := range Builtin(ws, o) {
		s.tools[tool.Def().Name] = tool
	}
	return s
}

// write creates a file in the workspace directly, not through the tools.
func (s *sandbox) write(t testing.TB, name, content string) {
	t.Helper()
	p := filepath.Join(s.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *sandbox) read(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// run calls the named tool with input given as a Go value (marshalled) or
// a string (sent as is).
func (s *sandbox) run(t testing.TB, tool string, input any) (string, error) {
	t.Helper()
	return s.runCtx(context.Background(), t, tool, input)
}

func (s *sandbox) runCtx(ctx context.Context, t testing.TB, tool string, input any) (string, error) {
	t.Helper()
	raw, ok := input.(string)
	if !ok {
		b, err := json.Marshal(input)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	tl, ok := s.tools[tool]
	if !ok {
		t.Fatalf("no tool %q", tool)
	}
	return tl.Run(ctx, json.RawMessage(raw))
}

// outsideEntries lists what the sandbox's parent holds besides the
// workspace and the secret, which must stay empty.
func (s *sandbox) outsideEntries(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(s.parent)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	for _, e := range entries {
		if e.Name() != "ws" && e.Name() != "secret.txt" {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

func TestWorkspaceRel(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	real, err := filepath.EvalSymlinks(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"a.go":                        "a.go",
		"./a.go":                      "a.go",
		"src//b/../c.go":              "src/c.go",
		".":                           ".",
		s.dir:                         ".",
		filepath.Join(s.dir, "x/y"):   "x/y",
		filepath.Join(real, "x/y"):    "x/y",
		filepath.Join(s.dir, "../ws"): ".",
	} {
		got, err := s.ws.rel(in)
		if err != nil || got != want {
			t.Errorf("rel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "../x", "..", "a/../../x", "/etc/passwd", s.parent, s.dir + "x/y", "a\x00b"} {
		if got, err := s.ws.rel(in); err == nil {
			t.Errorf("rel(%q) = %q, want an error", in, got)
		}
	}
	if _, err := s.ws.rel("/etc/passwd"); !errors.Is(err, errOutside) || !strings.Contains(err.Error(), s.dir) {
		t.Errorf("rel(/etc/passwd) error %v should say it is outside %s", err, s.dir)
	}
}

func TestOpenWorkspaceErrors(t *testing.T) {
	if _, err := OpenWorkspace(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("opened a missing directory")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWorkspace(f); err == nil {
		t.Error("opened a file as a workspace")
	}
}

// TestEscapesRefused is the workspace's reason to exist: no file tool
// reads or writes outside it, by "..", absolute paths or symbolic links.
func TestEscapesRefused(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "inside.txt", "inside\n")
	if err := os.Symlink(filepath.Join(s.parent, "secret.txt"), filepath.Join(s.dir, "abs-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.txt", filepath.Join(s.dir, "rel-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(s.dir, "up")); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(s.parent, "secret.txt")
	bad := []string{"../secret.txt", secret, "/etc/passwd", "abs-link", "rel-link", "up/secret.txt", "up/new.txt", "sub/../../secret.txt"}
	for _, p := range bad {
		calls := map[string]any{
			"read_file":  map[string]any{"path": p},
			"write_file": map[string]any{"path": p, "content": "pwned\n"},
			"edit_file":  map[string]any{"path": p, "old_text": "top", "new_text": "pwned"},
			"list_files": map[string]any{"path": p},
			"grep":       map[string]any{"pattern": "secret", "path": p},
		}
		for tool, in := range calls {
			out, err := s.run(t, tool, in)
			if err == nil {
				t.Errorf("%s %s: got %q, want an error", tool, p, out)
				continue
			}
			if strings.Contains(err.Error(), "top secret") {
				t.Errorf("%s %s: error leaks the secret: %v", tool, p, err)
			}
		}
	}
	if got := s.readOutside(t); got != "top secret\n" {
		t.Fatalf("secret.txt changed to %q", got)
	}
	if extra := s.outsideEntries(t); len(extra) > 0 {
		t.Fatalf("files created outside the workspace: %v", extra)
	}
	// The links are still links: writing through them did not replace
	// them with files either.
	for _, l := range []string{"abs-link", "rel-link", "up"} {
		if fi, err := os.Lstat(filepath.Join(s.dir, l)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link (%v)", l, err)
		}
	}
	// Searching the whole workspace lists the links but never reads
	// through them.
	out, err := s.run(t, "grep", map[string]any{"pattern": "secret"})
	if err != nil || strings.Contains(out, "top secret") {
		t.Errorf("grep over the workspace = %q, %v; must not read through links", out, err)
	}
}

func (s *sandbox) readOutside(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.parent, "secret.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestClosedWorkspace(t *testing.T) {
	s := newSandbox(t, ToolOptions{})
	s.write(t, "a.txt", "a\n")
	s.ws.Close()
	if _, err := s.run(t, "read_file", map[string]any{"path": "a.txt"}); err == nil {
		t.Error("read_file worked on a closed workspace")
	}
}

// symlink makes a symbolic link named name in dir, pointing at target.
func symlink(target, dir, name string) error {
	return os.Symlink(target, filepath.Join(dir, name))
}
