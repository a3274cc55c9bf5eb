// Package testbin builds helper programs for tests, once per test binary,
// so that tests can run real child processes with no manual build step.
package testbin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// FaultServer is the import path of tether's fault-injection server.
const FaultServer = "github.com/tetherllm/tether/internal/faultserver"

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*build{}
)

// Build builds the main package pkg (an import path in this module, or a
// directory) with the go command of the toolchain running the tests, the
// first time it is asked for in this test binary, and returns the
// program's path. It fails the test if the build fails.
//
// Programs are built into one directory per user under the system's
// temporary directory and renamed into place, so parallel test binaries
// never see a half-written program and each package keeps only its newest
// build; Go's build cache makes every build after the first a link.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	return BuildTags(t, pkg, "")
}

// BuildTags is Build with build tags (a comma-separated list), for
// programs that tests drive through hooks the product leaves out.
func BuildTags(t testing.TB, pkg, tags string) string {
	t.Helper()
	key := pkg + "\x00" + tags
	mu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(pkg, tags) })
	if b.err != nil {
		t.Fatalf("testbin: build %s: %v", pkg, b.err)
	}
	return b.path
}

func goBuild(pkg, tags string) (string, error) {
	goTool, err := goCommand()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tether-testbin-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(pkg + "\x00" + tags + "\x00" + runtime.Version() + "\x00" + mustGetwd()))
	name := strings.TrimSuffix(filepath.Base(pkg), ".go") + "-" + hex.EncodeToString(sum[:6])
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	final := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(goTool, "build", "-tags", tags, "-o", tmp.Name(), pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}

// goCommand finds the go command: "go test" puts its own toolchain's bin
// directory first on PATH; GOROOT is the fallback.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no go command on PATH or in GOROOT: %w", err)
	}
	return p, nil
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}

// InstallAs makes program available under each of names (say
// "llama-server", "apr") in a fresh directory, and returns the directory;
// put it first on PATH with t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH")).
// The directory is removed when the test ends.
func InstallAs(t testing.TB, program string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		if err := os.Symlink(program, filepath.Join(dir, name)); err != nil {
			t.Fatalf("testbin: %v", err)
		}
	}
	return dir
}
