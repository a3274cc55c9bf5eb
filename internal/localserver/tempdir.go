package localserver

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// A launch's files — a unix socket, a file holding its API key — live in
// directories of their own under the temporary directory, named
// "tether-PID-…" after the process that made them. The process removes
// them when it stops its server; if it is killed, its watchdog removes
// them (supervisor.Config.Remove); and a kill in the moment between making them and
// starting the watchdog is made good by the next launch on the machine,
// which removes the directories of processes that are gone.

// TempDir makes a fresh directory for one launch's files, named after
// this process and name, that only the current user can enter (mode
// 0700), and returns it with a function that removes it.
func TempDir(name string) (dir string, remove func(), err error) {
	sweepTempDirsOnce()
	dir, err = os.MkdirTemp("", OwnedPrefix()+name+"-")
	if err != nil {
		return "", nil, fmt.Errorf("temporary directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("temporary directory: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

var sweepTemp sync.Once

// sweepTempDirsOnce removes, once per process, the launch directories of
// tether processes that are gone.
func sweepTempDirsOnce() {
	sweepTemp.Do(func() {
		for _, base := range []string{os.TempDir(), "/tmp"} {
			sweepTempDirs(base)
		}
	})
}

// sweepTempDirs removes the launch directories under base of tether
// processes that are gone. Another user's directories are left alone.
func sweepTempDirs(base string) {
	for _, name := range OrphanedEntries(base) {
		if dir := filepath.Join(base, name); ownedByUs(dir) {
			os.RemoveAll(dir)
		}
	}
}
