package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// errOutside marks a path that names something outside the workspace. The
// file tools wrap it so the model reads which path was refused and why.
var errOutside = errors.New("outside the workspace")

// Workspace is the directory tree the agent's file tools may touch. Every
// file access goes through an [os.Root], which the kernel-backed
// resolution of Go's os package keeps beneath the directory: a path with
// "..", an absolute path or a symbolic link that leads out is refused at
// the moment of access, not by a lexical check that a symlink could defeat.
//
// Paths given to the tools are relative to the workspace ("./" prefixes
// are fine). An absolute path is read as a path on this machine: it is
// accepted when it lies beneath [Workspace.Dir] and refused otherwise.
//
// The shell tool is the exception: a command can reach anything the user
// can, so [Builtin] only includes it when asked.
type Workspace struct {
	root *os.Root
	// dir is the absolute, cleaned path the workspace was opened at, and
	// real the same directory with its symbolic links resolved. Models
	// copy absolute paths from command output (pwd, compiler errors), so
	// both spellings are accepted as naming files inside the workspace.
	dir, real string
}

// OpenWorkspace opens dir, which must be an existing directory, as the
// agent's workspace. Close releases it.
func OpenWorkspace(dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("agent: workspace %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("agent: workspace: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("agent: workspace: %w", err)
	}
	return &Workspace{root: root, dir: abs, real: real}, nil
}

// Dir is the absolute path of the workspace: the working directory of
// shell commands and what absolute paths given to the file tools must lie
// beneath.
func (w *Workspace) Dir() string { return w.dir }

// Close releases the workspace's directory handle. Tools used after Close
// fail with an error.
func (w *Workspace) Close() error { return w.root.Close() }

// rel turns a path the model gave into a clean, slash-separated path
// relative to the workspace ("." for the workspace itself).
//
// Relative paths are relative to the workspace, and "./" prefixes are
// harmless. An absolute path is taken literally, as a path on this
// machine: it is accepted when it lies beneath [Workspace.Dir] and refused
// otherwise. Treating "/etc/passwd" as "etc/passwd" inside the workspace
// would silently read or write a different file from the one the model
// meant; a clear refusal lets it correct itself.
//
// The lexical check here only gives clear messages for plain mistakes; the
// os.Root the tools access files through is what enforces the boundary,
// symbolic links included.
func (w *Workspace) rel(p string) (string, error) {
	if p == "" {
		return "", errors.New("path is empty")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	if filepath.IsAbs(p) {
		clean := filepath.Clean(p)
		r, ok := under(clean, w.dir)
		if !ok {
			r, ok = under(clean, w.real)
		}
		if !ok {
			return "", fmt.Errorf("path %s: %w %s (use a path relative to it)", p, errOutside, w.dir)
		}
		p = r
	}
	clean := path.Clean(filepath.ToSlash(p))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("path %s: %w %s", p, errOutside, w.dir)
	}
	return clean, nil
}

// under reports whether p lies within dir (both absolute and clean) and
// returns it relative to dir.
func under(p, dir string) (string, bool) {
	if p == dir {
		return ".", true
	}
	prefix := dir
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if rest, ok := strings.CutPrefix(p, prefix); ok {
		return rest, true
	}
	return "", false
}

// openRegular opens the slash-separated workspace path name for reading,
// refusing anything but a regular file (after symbolic links inside the
// workspace). The check comes before the open because opening a named pipe
// blocks until something writes to it, which would hang the tool.
func (w *Workspace) openRegular(name string) (*os.File, error) {
	fi, err := w.root.Stat(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	if err := regular(name, fi); err != nil {
		return nil, err
	}
	return w.root.Open(filepath.FromSlash(name))
}

// openPath opens the regular file at the path the model gave, for
// reading, and returns its workspace-relative name. Its errors are the
// model's to read.
func (w *Workspace) openPath(p string) (string, *os.File, error) {
	name, err := w.rel(p)
	if err != nil {
		return "", nil, err
	}
	f, err := w.openRegular(name)
	if err != nil {
		return "", nil, fileError(p, err)
	}
	return name, f, nil
}

// notRegularError says what a path is that should have been a regular
// file; its message is complete as it stands, so it reaches the model
// unchanged.
type notRegularError struct{ msg string }

func (e *notRegularError) Error() string { return e.msg }

// regular returns an error naming what name is unless fi describes a
// regular file.
func regular(name string, fi fs.FileInfo) error {
	switch {
	case fi.Mode().IsRegular():
		return nil
	case fi.IsDir():
		return &notRegularError{name + " is a directory, not a file (list_files lists what it holds)"}
	default:
		return &notRegularError{fmt.Sprintf("%s is a special file (%s), not a regular file", name, fi.Mode().Type())}
	}
}

// maxLinkHops bounds how many symbolic links writeTarget follows, as the
// kernel's own limit does, so that a link cycle ends in an error.
const maxLinkHops = 40

// writeTarget returns the file that writing to name really changes: name
// itself, or, when name is a symbolic link, the file the chain of links
// ends at. Replacing a file by rename would otherwise replace the link
// with a regular file and leave the file it points to untouched, which is
// not what editing "CLAUDE.md -> AGENTS.md" means. A link that leads out of
// the workspace, or is absolute, is refused.
func (w *Workspace) writeTarget(name string) (string, error) {
	for range maxLinkHops {
		fi, err := w.root.Lstat(filepath.FromSlash(name))
		if errors.Is(err, fs.ErrNotExist) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return name, nil
		}
		link, err := w.root.Readlink(filepath.FromSlash(name))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(link) {
			return "", fmt.Errorf("%s is a symbolic link to the absolute path %s: %w", name, link, errOutside)
		}
		next := path.Join(path.Dir(name), filepath.ToSlash(link))
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", fmt.Errorf("%s is a symbolic link to %s: %w", name, link, errOutside)
		}
		name = next
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", name)
}

// writeAtomic replaces the file name (slash-separated, relative to the
// workspace) with data, creating missing parent directories. The data goes
// to a temporary file in the same directory, which is synced and then
// renamed over the target, so that a crash or a full disk never leaves a
// half-written file where a whole one was. An existing file keeps its
// permission bits (an executable script stays executable).
func (w *Workspace) writeAtomic(name string, data []byte) error {
	target, err := w.writeTarget(name)
	if err != nil {
		return err
	}
	perm, existed := fs.FileMode(0o644), false
	switch fi, err := w.root.Stat(filepath.FromSlash(target)); {
	case err == nil && !fi.Mode().IsRegular():
		return regular(name, fi)
	case err == nil:
		perm, existed = fi.Mode().Perm(), true
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := path.Dir(target)
	if dir != "." {
		if err := w.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return err
		}
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := path.Join(dir, "."+path.Base(target)+".tether-"+hex.EncodeToString(suffix[:])+".tmp")
	f, err := w.root.OpenFile(filepath.FromSlash(tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && existed {
		// The umask may have narrowed perm at creation; an existing
		// file's bits are kept exactly.
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.root.Rename(filepath.FromSlash(tmp), filepath.FromSlash(target))
	}
	if err != nil {
		_ = w.root.Remove(filepath.FromSlash(tmp))
		return err
	}
	return nil
}
