package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildOncePerBinary(t *testing.T) {
	first := Build(t, FaultServer)
	second := Build(t, FaultServer)
	if first != second {
		t.Fatalf("second Build gave %q, want the first build %q", second, first)
	}
	info, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&0o111 == 0 {
		t.Fatalf("%s is not executable: %v", first, info.Mode())
	}
}

func TestInstallAsRunsUnderNewName(t *testing.T) {
	bin := Build(t, FaultServer)
	dir := InstallAs(t, bin, "llama-server", "apr")
	// An unknown fault is a usage error: the program ran and parsed its
	// arguments under the new name.
	out, err := exec.Command(filepath.Join(dir, "apr"), "serve", "run", "m.gguf", "--fault-nonsense").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown fault "nonsense"`) {
		t.Fatalf("apr --fault-nonsense: err %v, output %q", err, out)
	}
}

func TestBuildFailureIsReported(t *testing.T) {
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		Build(ft, "github.com/tetherllm/tether/internal/testbin/no-such-package")
	}()
	if !ft.failed {
		t.Fatal("Build of a missing package did not fail the test")
	}
}

// fakeT records Fatalf instead of ending the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}
